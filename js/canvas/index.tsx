/** anywidget entry point of the canvas view. */
import React from 'react';

import type { AnyModel, RenderProps } from '../shared/anywidget';
import { anchorId, mount } from '../shared/mount';
import { CanvasApp, CanvasModel } from './CanvasApp';

export function renderCanvas({ model, el, experimental }: RenderProps<CanvasModel>): () => void {
  return mount(
    el,
    anchorId(model as AnyModel<CanvasModel>),
    'sdl-canvas-root',
    <CanvasApp model={model} experimental={experimental} />
  );
}
