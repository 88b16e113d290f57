/** anywidget entry point of the playground view. */
import React from 'react';

import type { RenderProps } from '../shared/anywidget';
import { anchorId, mount } from '../shared/mount';
import type { PlaygroundState as PlaygroundModel } from '../shared/contract';
import { PlaygroundApp } from './PlaygroundApp';

export function renderPlayground({ model, el }: RenderProps<PlaygroundModel>): () => void {
  return mount(el, anchorId(model), 'sdl-playground-root', <PlaygroundApp model={model} />);
}
