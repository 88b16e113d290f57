/**
 * Starter notebook created by the "SLaM Dunk Lab" launcher card.
 *
 * Mirrors examples/01_build_train_generate.ipynb (the lead keeps the two aligned).
 */
export const STARTER_NOTEBOOK_NAME = 'slamdunk-lab.ipynb';
function code(source) {
    return {
        cell_type: 'code',
        execution_count: null,
        metadata: {},
        outputs: [],
        source
    };
}
function markdown(source) {
    return { cell_type: 'markdown', metadata: {}, source };
}
export function starterNotebook() {
    return {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {
            kernelspec: {
                name: 'python3',
                display_name: 'Python 3 (ipykernel)',
                language: 'python'
            },
            language_info: { name: 'python' }
        },
        cells: [
            markdown('# SLaM Dunk Lab\n\nDesign a small decoder-only language model on the canvas, train it, and generate text.'),
            code('import slamdunk_lab as sd'),
            code('canvas = sd.Canvas(template="gpt2", size="tiny")\ncanvas'),
            code('model = sd.build(canvas.graph)\nrun = sd.train(model, data="tiny-shakespeare", steps=200)\nrun'),
            code('sd.generate(model, "To be, or not to be", max_new_tokens=64)')
        ]
    };
}
