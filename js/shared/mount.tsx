/**
 * Mount a React tree in an anywidget element, with the behaviour every
 * SLaM Dunk view needs inside a notebook.
 */
import React from 'react';
import { createRoot } from 'react-dom/client';

import { ANCHOR_ATTRIBUTE } from './notebook';

const EDITABLE = /^(INPUT|TEXTAREA|SELECT)$/;

/**
 * Keys typed inside the widget must not trigger notebook shortcuts
 * (A/B insert cells, D D deletes, arrows move, ...). Lumino skips keybindings
 * for events from inside a `data-lm-suppress-shortcuts` element; in addition we
 * stop keydown propagation from form fields so nothing outside (e.g. the
 * notebook's own handlers) sees typing.
 */
export function guardKeys(root: HTMLElement): () => void {
  root.setAttribute('data-lm-suppress-shortcuts', 'true');
  root.classList.add('lm-suppress-shortcuts');
  const onKey = (ev: KeyboardEvent) => {
    const t = ev.target as HTMLElement | null;
    if (t && (EDITABLE.test(t.tagName) || t.isContentEditable)) {
      ev.stopPropagation();
    }
  };
  root.addEventListener('keydown', onKey);
  return () => root.removeEventListener('keydown', onKey);
}

/** The widget's model id (synced by Python as `_anchor`), used as the cell anchor. */
export function anchorId(model: { get(key: string): unknown; model_id?: string }): string | undefined {
  const v = model.get('_anchor');
  return typeof v === 'string' && v ? v : model.model_id;
}

export function mount(
  el: HTMLElement,
  modelId: string | undefined,
  className: string,
  node: React.ReactNode
): () => void {
  const root = document.createElement('div');
  root.className = `sdl-root ${className}`;
  // focusable, so a click anywhere in the widget moves keyboard focus into it
  // (keys then come from inside the data-lm-suppress-shortcuts element)
  root.tabIndex = -1;
  if (modelId) {
    root.setAttribute(ANCHOR_ATTRIBUTE, modelId);
  }
  el.appendChild(root);
  const unguard = guardKeys(root);
  const reactRoot = createRoot(root);
  reactRoot.render(<React.StrictMode>{node}</React.StrictMode>);
  return () => {
    reactRoot.unmount();
    unguard();
    root.remove();
  };
}

/** Whether JupyterLab's current theme is light (body[data-jp-theme-light]). */
export function isLightTheme(): boolean {
  const v = document.body?.dataset?.jpThemeLight;
  if (v === 'true' || v === 'false') {
    return v === 'true';
  }
  return !(globalThis.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false);
}

/** Calls `cb` whenever JupyterLab switches theme. */
export function watchTheme(cb: (light: boolean) => void): () => void {
  if (typeof MutationObserver === 'undefined' || !document.body) {
    return () => undefined;
  }
  const obs = new MutationObserver(() => cb(isLightTheme()));
  obs.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-light'] });
  return () => obs.disconnect();
}
