/**
 * Starter notebook created by the "SLaM Dunk Lab" launcher card.
 *
 * The content is examples/01_build_train_generate.ipynb, copied in by js/sync-starter.mjs at build time.
 */
import { STARTER } from './starter-notebook';

export const STARTER_NOTEBOOK_NAME = 'slamdunk-lab.ipynb';

/** A fresh copy of the starter notebook (examples/01_build_train_generate.ipynb without outputs). */
export function starterNotebook(): Record<string, unknown> {
  return JSON.parse(JSON.stringify(STARTER)) as Record<string, unknown>;
}
