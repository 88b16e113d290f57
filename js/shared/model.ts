/** React hooks over an anywidget model. */
import { useEffect, useSyncExternalStore, useCallback } from 'react';

import { AnyModel, EventMessage, isEventMessage } from './anywidget';

/**
 * Subscribe to one traitlet; re-renders on `change:<key>`. The value is read
 * again right after subscribing (the callback runs once), so a change that
 * arrives between the render and the subscription is never lost, whichever
 * React implementation runs the view (React checks after subscribing, Preact
 * before).
 */
export function useModelValue<T extends object, K extends keyof T & string>(
  model: AnyModel<T>,
  key: K
): T[K] {
  const subscribe = useCallback(
    (cb: () => void) => {
      const ev = `change:${key}`;
      model.on(ev, cb);
      cb();
      return () => model.off(ev, cb);
    },
    [model, key]
  );
  const get = useCallback(() => model.get(key), [model, key]);
  return useSyncExternalStore(subscribe, get, get);
}

/** Handle our custom messages `{type, ...}` from Python. */
export function useModelEvents<T extends object>(
  model: AnyModel<T>,
  handler: (msg: EventMessage) => void
): void {
  useEffect(() => {
    const cb = (msg: unknown) => {
      if (isEventMessage(msg)) {
        handler(msg);
      }
    };
    model.on('msg:custom', cb);
    return () => model.off('msg:custom', cb);
  }, [model, handler]);
}

const handledNonces = new WeakMap<object, Set<number>>();

/**
 * True the first time a view of `model` sees `nonce` (one-shot events must
 * act once even when the widget is displayed in several places).
 */
export function claimNonce(model: object, nonce: number | undefined): boolean {
  if (nonce === undefined) {
    return true;
  }
  let seen = handledNonces.get(model);
  if (!seen) {
    seen = new Set();
    handledNonces.set(model, seen);
  }
  if (seen.has(nonce)) {
    return false;
  }
  seen.add(nonce);
  return true;
}
