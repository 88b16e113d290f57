// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';

import { counted, pageLanguage, resolveLanguage, t, TEXTS } from './i18n';

afterEach(() => {
  document.documentElement.lang = '';
});

describe('the interface in English and Korean', () => {
  it('fills placeholders and picks singular forms', () => {
    expect(t('en', 'layers', { n: 4 })).toBe('4 layers');
    expect(t('ko', 'layers', { n: 4 })).toBe('4개 층');
    expect(counted('en', 1, 'problem', 'problems')).toBe('⚠ 1 problem');
    expect(counted('ko', 3, 'problem', 'problems')).toBe('⚠ 문제 3개');
  });

  it('has every text in Korean, and no Korean text is left in English', () => {
    for (const key of Object.keys(TEXTS.en) as (keyof typeof TEXTS.en)[]) {
      expect(TEXTS.ko[key], key).toBeTruthy();
      if (/[A-Za-z]{3}/.test(TEXTS.en[key].replace(/\{\w+\}|Ctrl|Cmd|Shift|Enter|PyTorch|sd\.to_code|FLOPs/g, ''))) {
        expect(TEXTS.ko[key], key).toMatch(/[가-힣]/);
      }
    }
  });

  it('"auto" follows JupyterLab\'s language; an explicit choice wins', () => {
    expect(resolveLanguage('auto')).toBe('en');
    document.documentElement.lang = 'ko-KR';
    expect(pageLanguage()).toBe('ko');
    expect(resolveLanguage('auto')).toBe('ko');
    expect(resolveLanguage('en')).toBe('en');
    expect(resolveLanguage(undefined)).toBe('ko');
  });
});
