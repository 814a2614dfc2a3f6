// Mouse-over hints for the samplers of the smea-samplers extension, in the WebUI's hints style:
// javascript/hints.js shows titles[text] on any element whose text is a key, dropdown options included.
// One entry per sampler: its label and summary in smea_sampler.SAMPLERS, which
// tests/webui/test_extension_files.py checks this file against.

var titles = typeof titles === "undefined" ? {} : titles;

var smeaSamplerHints = {
    "Euler Dy": "Euler a-like; on steps 2 and 3 by default, a 2×2 sub-lattice of the latent gets an extra denoise. Fewer limb and finger glitches, about the cost of Euler a",
    "Euler SMEA Dy": "Euler a-like; by default step 0 is refined on a 1.25× enlarged latent, step 1 on a sub-lattice. Steadier large images, about 1.1× the cost of Euler a at 20 steps",
    "Euler Negative": "Euler a-like; the model sees a sign-flipped latent at step 3. A different composition at the same cost",
    "Euler Negative Dy": "Euler Negative plus the Dy sub-step, on steps 2 and 3 by default",
    "Kohaku_LoNyu_Yog": "First half: ancestral steps that also consult the model on the negated latent (3 model calls a step); second half: plain Euler. Use about 10 steps",
};

Object.assign(titles, smeaSamplerHints);

// Gradio 4 (Forge) renders a dropdown item as <li class="item" aria-label="Euler Dy">✓ Euler Dy</li>, which
// hints.js does not match, and a closed dropdown keeps the hint of the choice before. So when the pointer
// reaches a dropdown item or a dropdown showing one of these samplers, it gets that sampler's hint.
document.addEventListener("mouseover", function(event) {
    var item = event.target.closest && event.target.closest("li.item, input");
    if (!item) return;
    var label = item.tagName === "INPUT" ? item.value : item.getAttribute("aria-label") || item.dataset.value;
    if (label in smeaSamplerHints) {
        item.title = smeaSamplerHints[label];
    } else if (Object.values(smeaSamplerHints).indexOf(item.title) >= 0) {
        item.title = titles[label] || ""; // our hint left on a dropdown that now shows another choice
    }
}, true);
