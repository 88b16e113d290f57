/** anywidget entry point of the runs browser view. */
import React from 'react';

import type { RenderProps } from '../shared/anywidget';
import { anchorId, mount } from '../shared/mount';
import type { RunsState as RunsModel } from '../shared/contract';
import { RunsApp } from './RunsApp';

export function renderRuns({ model, el }: RenderProps<RunsModel>): () => void {
  return mount(el, anchorId(model), 'sdl-runs-root', <RunsApp model={model} />);
}
