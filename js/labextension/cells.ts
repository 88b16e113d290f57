/**
 * Pure helpers for locating the notebook cell that hosts a widget.
 *
 * Kept free of JupyterLab imports so vitest can test them in isolation.
 */

/** Attribute every SLaM Dunk widget root carries (value: the widget model id). */
export const ANCHOR_ATTRIBUTE = 'data-slamdunk-model-id';

/** The minimal shape of a cell widget we need. */
export interface ICellLike {
  node: HTMLElement;
}

/**
 * Resolve an anchor (element, or widget model id string) to a DOM element
 * inside `root`, or null.
 */
export function resolveAnchor(
  anchor: Element | string | null | undefined,
  root: ParentNode = document
): Element | null {
  if (!anchor) {
    return null;
  }
  if (typeof anchor !== 'string') {
    return anchor;
  }
  const escaped = anchor.replace(/["\\]/g, '\\$&');
  return root.querySelector(`[${ANCHOR_ATTRIBUTE}="${escaped}"]`);
}

/** Index of the cell whose DOM subtree contains `el`, or -1. */
export function findCellIndex(cells: readonly ICellLike[], el: Element | null): number {
  if (!el) {
    return -1;
  }
  for (let i = 0; i < cells.length; i++) {
    if (cells[i].node.contains(el)) {
      return i;
    }
  }
  return -1;
}
