/**
 * Starter notebook created by the "SLaM Dunk Lab" launcher card.
 *
 * Mirrors examples/01_build_train_generate.ipynb (the lead keeps the two aligned).
 */
export const STARTER_NOTEBOOK_NAME = 'slamdunk-lab.ipynb';

function code(source: string): Record<string, unknown> {
  return {
    cell_type: 'code',
    execution_count: null,
    metadata: {},
    outputs: [],
    source
  };
}

function markdown(source: string): Record<string, unknown> {
  return { cell_type: 'markdown', metadata: {}, source };
}

export function starterNotebook(): Record<string, unknown> {
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
      markdown(
        '# SLaM Dunk Lab\n\nDesign a small decoder-only language model on the canvas, train it, and generate text.'
      ),
      code('import slamdunk_lab as sd'),
      code('corpus = sd.data.load("tiny_shakespeare")\ntok = sd.tokenizers.char(corpus)'),
      markdown('## Design\n\nDrag blocks from the palette, edit settings in the inspector; shapes and parameter counts update live.'),
      code('canvas = sd.Canvas(template="gpt2", size="tiny")\ncanvas'),
      markdown('## Train'),
      code('run = sd.train(canvas, corpus, tok, steps=2000)\nsd.widgets.Monitor().follow(run)'),
      markdown('## Generate'),
      code('sd.widgets.Playground.for_run(run, prompt="ROMEO:")')
    ]
  };
}
