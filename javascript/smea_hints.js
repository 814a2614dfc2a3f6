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
    "Euler Dy CFG++": "Euler Dy with CFG++ guidance (use CFG 1–2); the sub-lattice step comes after the step",
    "Euler SMEA Dy CFG++": "Euler SMEA Dy with CFG++ guidance (use CFG 1–2)",
    "Euler Negative CFG++": "Euler Negative with CFG++ guidance (use CFG 1–2)",
    "Euler Negative Dy CFG++": "Euler Negative Dy with CFG++ guidance (use CFG 1–2)",
    "Euler a Dy": "Euler a after the family's churn: its look with a little more noise cycling, the cost of Euler a",
    "Euler a Dy CFG++": "Euler a Dy with CFG++ guidance (use CFG 1–2)",
    "DPM++ 2M Dy": "DPM++ 2M after the family's churn each step",
    "DPM++ 2M Dy CFG++": "DPM++ 2M Dy with CFG++ guidance (use CFG 1–2)",
    "DPM++ 3M Dy": "DPM++ 3M (no SDE noise) after the family's churn each step",
    "DPM++ 3M SDE Dy": "DPM++ 3M SDE after the family's churn each step; seeded SDE noise",
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
