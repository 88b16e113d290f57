// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import React, { useLayoutEffect } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { FieldSpec } from './schema';
import { SchemaField } from './ui';

afterEach(cleanup);

const WIDTH: FieldSpec = { name: 'd_model', title: 'Width', kind: 'integer', nullable: false, minimum: 1 };

describe('SchemaField', () => {
  it('shows a value set from outside in the same commit, and drops typing made over the old value', () => {
    const seen: [unknown, string][] = [];
    const onCommit = vi.fn();
    function Form({ value }: { value: number }) {
      useLayoutEffect(() => {
        seen.push([value, (document.getElementById('f-d_model') as HTMLInputElement).value]);
      });
      return <SchemaField field={WIDTH} value={value} errors={[]} onCommit={onCommit} idPrefix="f" />;
    }
    const { rerender } = render(<Form value={64} />);
    rerender(<Form value={128} />);
    // the layout effect runs after the field's own commit: never the old value beside the new one
    expect(seen).toEqual([[64, '64'], [128, '128']]);
    const input = screen.getByLabelText('Width') as HTMLInputElement;
    fireEvent.change(input, { target: { value: '2x' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(input.value).toBe('2x');
    expect(screen.getByRole('alert').textContent).toMatch(/number|integer/i);
    expect(onCommit).not.toHaveBeenCalled();
    rerender(<Form value={256} />);
    expect(input.value).toBe('256');
    expect(screen.queryByRole('alert')).toBeNull();
    fireEvent.change(input, { target: { value: '300' } });
    fireEvent.blur(input);
    expect(onCommit).toHaveBeenCalledWith('d_model', 300);
    fireEvent.change(input, { target: { value: '7' } });
    fireEvent.keyDown(input, { key: 'Escape' });
    expect(input.value).toBe('256');
  });
});
