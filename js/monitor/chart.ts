/** The monitor's chart helpers live in shared/ (the runs browser draws the same charts). */
export * from '../shared/chart';
