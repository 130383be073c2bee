// A visitor on the shop and an operator in the console, each in their own browser context
// (issue 6 point 4, docs/chat.md "Operators"): messages both ways, typing both ways, the handoff
// request, take, release and close — and the assistant answering only while no operator holds
// the dialog.
import type { Page } from '@playwright/test';
import { expect, test } from '../postern-fixtures.js';
import { OPERATOR_NAME } from '../rig/postern-server.js';
import { firstReady, openChat, SHOP, say, serveShop } from '../rig/shop-page.js';

/** The console's parts, by the names an operator reads. */
function operatorConsole(page: Page) {
  return {
    status: page.locator('.status-text'),
    row: (dialogId: string) => page.locator(`button.row[data-dialog-id="${dialogId}"]`),
    meta: page.locator('#conversation .meta'),
    take: page.getByRole('button', { name: 'Take' }),
    release: page.getByRole('button', { name: 'Release' }),
    close: page.getByRole('button', { name: 'Close dialog' }),
    reply: page.getByRole('textbox', { name: 'Reply' }),
    typing: page.locator('#conversation .typing'),
    texts: (sender: 'visitor' | 'assistant' | 'operator' | 'system') =>
      page.locator(`#conversation .message--${sender}:not(.message--acked) .message-text`),
  };
}

test('visitor and operator chat through a handoff; the assistant answers only when no one holds the dialog', async ({
  page,
  origins,
  postern,
  consoleHost,
  openContext,
}) => {
  const operatorPage = await (await openContext()).newPage();
  await operatorPage.goto(`${consoleHost.origin}/`);
  const desk = operatorConsole(operatorPage);
  await expect(desk.status).toHaveText('Connected');

  await page.goto(serveShop(origins, postern, { siteToken: postern.siteToken([SHOP]) }));
  const ui = await openChat(page);
  const { dialogId } = await firstReady(page);
  await say(page, 'Hello');
  await expect(ui.bubbles('assistant')).toHaveCount(1);

  // The dialog shows up in the console from its first message; the operator opens it.
  await desk.row(dialogId).click();
  await expect(desk.texts('visitor')).toHaveText(['Hello']);
  await expect(desk.texts('assistant')).toHaveCount(1);
  await expect(desk.meta).toContainText('With the assistant');

  await test.step('the visitor asks for a person', async () => {
    await page.getByRole('button', { name: 'Talk to a person' }).click();
    await expect(page.getByText('A person will join you soon.')).toBeVisible();
    await expect(desk.meta).toContainText('Waiting for a person');
  });

  await test.step('the operator takes the dialog; typing and messages go both ways', async () => {
    await desk.take.click();
    await expect(desk.meta).toContainText(`With an operator: ${OPERATOR_NAME}`);
    await expect(ui.handoff).toBeHidden();
    await expect(page.getByText('A person will join you soon.')).toBeHidden();

    await desk.reply.pressSequentially('Hi');
    await expect(ui.typing).toHaveText('Support is typing…');
    await desk.reply.pressSequentially(', I am Dana.');
    await desk.reply.press('Enter');
    await expect(ui.bubbles('operator')).toHaveText(['Hi, I am Dana.']);
    await expect(ui.typing).toBeHidden();

    await ui.composer.pressSequentially('Where is my parcel');
    await expect(desk.typing).toHaveText('Visitor is typing…');
    await ui.composer.pressSequentially('?');
    await ui.composer.press('Enter');
    await expect(desk.texts('visitor')).toHaveText(['Hello', 'Where is my parcel?']);
  });

  await test.step('while the operator holds the dialog the assistant stays silent', async () => {
    // A question the demo assistant answers at once when it is in charge (see the release below).
    // The operator's next message is the marker: anything the assistant said would be before it.
    await desk.reply.fill('Let me check.');
    await desk.reply.press('Enter');
    await expect(ui.bubbles('operator')).toHaveText(['Hi, I am Dana.', 'Let me check.']);
    await expect(ui.bubbles('assistant')).toHaveCount(1);
    await expect(desk.texts('assistant')).toHaveCount(1);
  });

  await test.step('released, the assistant answers again', async () => {
    await desk.release.click();
    await expect(desk.meta).toContainText('With the assistant');
    await expect(ui.handoff).toBeVisible();
    await say(page, 'Where is my parcel?');
    await expect(ui.bubbles('assistant')).toHaveCount(2);
    await expect(ui.bubbles('assistant').last()).toContainText('ship');
    await expect(desk.texts('assistant')).toHaveCount(2);
  });

  await test.step('taken again and closed', async () => {
    await desk.take.click();
    await expect(desk.meta).toContainText(`With an operator: ${OPERATOR_NAME}`);
    await desk.close.click();
    await expect(desk.meta).toContainText('Closed');
    await expect(desk.reply).toBeDisabled();
    await expect(ui.handoff).toBeHidden();
    await expect(ui.bubbles('system').last()).toHaveText('This conversation was closed.');
  });

  // The stored dialog, as an operator's history shows it: every message once, gapless, and the
  // only assistant answers are the two given while no operator held the dialog.
  const history = await postern.history(dialogId);
  expect(history.map((m) => m.seq)).toEqual(history.map((_, i) => i + 1));
  expect(history.map((m) => [m.sender, m.text.split(/[.!?]/)[0]])).toEqual([
    ['visitor', 'Hello'],
    ['assistant', 'Hello'],
    ['system', 'A person has been asked to join'],
    ['system', `${OPERATOR_NAME} joined the conversation`],
    ['operator', 'Hi, I am Dana'],
    ['visitor', 'Where is my parcel'],
    ['operator', 'Let me check'],
    ['system', 'The assistant is back in this conversation'],
    ['visitor', 'Where is my parcel'],
    ['assistant', 'Orders placed before 2 pm ship the same working day'],
    ['system', `${OPERATOR_NAME} joined the conversation`],
    ['system', 'This conversation was closed'],
  ]);
});
