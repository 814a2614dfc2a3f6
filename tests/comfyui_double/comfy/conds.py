"""Double of comfy/conds.py: conditioning entries of a processed cond's model_conds."""

import torch


class CONDRegular:
    def __init__(self, cond):
        self.cond = cond

    def _copy_with(self, cond):
        return self.__class__(cond)

    def process_cond(self, batch_size, **kwargs):
        return self._copy_with(repeat_to_batch_size(self.cond, batch_size))


class CONDNoiseShape(CONDRegular):
    """Laid out like the noise (c_concat of inpainting models): cropped to a cond's area, never resized to x."""

    def process_cond(self, batch_size, area, **kwargs):
        data = self.cond
        if area is not None:
            dims = len(area) // 2
            for i in range(dims):
                data = data.narrow(i + 2, area[i + dims], area[i])
        return self._copy_with(repeat_to_batch_size(data, batch_size))


class CONDCrossAttn(CONDRegular):
    pass


def repeat_to_batch_size(tensor, batch_size):
    if tensor.shape[0] > batch_size:
        return tensor[:batch_size]
    if tensor.shape[0] < batch_size:
        return tensor.repeat([-(-batch_size // tensor.shape[0])] + [1] * (tensor.ndim - 1))[:batch_size]
    return tensor


__all__ = ["CONDCrossAttn", "CONDNoiseShape", "CONDRegular", "repeat_to_batch_size", "torch"]
