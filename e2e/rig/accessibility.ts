/**
 * axe-core through `@axe-core/playwright`: the violations a test may not have (impact `serious`
 * or `critical`, WCAG 2.x A and AA), one readable line each, the full results attached to the
 * report. axe walks open shadow roots itself, so the widget inside `postern-widget` is included.
 */
import AxeBuilder from '@axe-core/playwright';
import type { Page, TestInfo } from '@playwright/test';

const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

export interface AxeReport {
  /** Serious and critical violations, one line each: `impact rule: target`. */
  readonly serious: string[];
  /** Every element axe checked (passed or not), as its target path through shadow roots. */
  readonly checked: string[];
}

/** Runs axe on `page` (within `selector` when given) and attaches the violations as `name`. */
export async function axeReport(
  page: Page,
  testInfo: TestInfo,
  name: string,
  selector?: string,
): Promise<AxeReport> {
  let builder = new AxeBuilder({ page }).withTags(WCAG_TAGS);
  if (selector) builder = builder.include(selector);
  const results = await builder.analyze();
  await testInfo.attach(`axe-${name}.json`, {
    body: JSON.stringify(results.violations, null, 2),
    contentType: 'application/json',
  });
  const serious = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .flatMap((violation) =>
      violation.nodes.map(
        (node) => `${violation.impact} ${violation.id}: ${JSON.stringify(node.target)}`,
      ),
    );
  const checked = [...results.passes, ...results.violations].flatMap((rule) =>
    rule.nodes.map((node) => JSON.stringify(node.target)),
  );
  return { serious, checked };
}
