/**
 * Every string the default UI shows, one table per locale. Templates hold `{n}` (a count) and
 * `{who}` (a sender); they are filled by plain string replacement and rendered with `textContent`,
 * so a translation can never inject markup.
 */

/** A count-dependent string, by `Intl.PluralRules` category; `other` is required. */
export type Plural = { readonly other: string } & Partial<Record<Intl.LDMLPluralRule, string>>;

export interface Strings {
  readonly dir: 'ltr' | 'rtl';
  readonly title: string;
  readonly open: string;
  readonly close: string;
  /** The composer's accessible name. */
  readonly message: string;
  readonly placeholder: string;
  readonly send: string;
  readonly handoff: string;
  readonly handoffRequested: string;
  readonly visitor: string;
  readonly assistant: string;
  readonly operator: string;
  readonly system: string;
  readonly typing: string;
  readonly notSent: string;
  readonly retry: string;
  readonly unread: Plural;
  // Connection states.
  readonly connecting: string;
  readonly reconnecting: string;
  readonly offline: Plural;
  // Why the chat stopped, one per terminal outcome.
  readonly notAvailable: string;
  readonly ended: string;
  readonly signInFailed: string;
  readonly revoked: string;
  readonly conversationEnded: string;
  readonly tooManyTabs: string;
  readonly tooManyAttempts: string;
  readonly broken: string;
  readonly unavailable: string;
}

/** A key of {@link Strings} holding a plain string. */
export type TextKey = {
  [K in keyof Strings]: Strings[K] extends string ? (K extends 'dir' ? never : K) : never;
}[keyof Strings];

const en: Strings = {
  dir: 'ltr',
  title: 'Chat',
  open: 'Open chat',
  close: 'Close chat',
  message: 'Message',
  placeholder: 'Write a message…',
  send: 'Send',
  handoff: 'Talk to a person',
  handoffRequested: 'A person will join you soon.',
  visitor: 'You',
  assistant: 'Assistant',
  operator: 'Support',
  system: 'Notice',
  typing: '{who} is typing…',
  notSent: 'Not sent',
  retry: 'Try again',
  unread: { one: '{n} unread message', other: '{n} unread messages' },
  connecting: 'Connecting…',
  reconnecting: 'Offline. Reconnecting…',
  offline: {
    one: 'Offline. {n} message waiting to be sent.',
    other: 'Offline. {n} messages waiting to be sent.',
  },
  notAvailable: 'Chat is not available on this site.',
  ended: 'This chat has ended.',
  signInFailed: 'The chat could not start on this page.',
  revoked: 'This chat has been turned off.',
  conversationEnded: 'This conversation has ended. Send a message to start a new one.',
  tooManyTabs: 'The chat is open in too many tabs. Close one and try again.',
  tooManyAttempts: 'Too many attempts. Please try again in a moment.',
  broken: 'Something went wrong. Please reload the page.',
  unavailable: 'Chat is not available right now.',
};

const ar: Strings = {
  dir: 'rtl',
  title: 'الدردشة',
  open: 'فتح الدردشة',
  close: 'إغلاق الدردشة',
  message: 'رسالة',
  placeholder: 'اكتب رسالة…',
  send: 'إرسال',
  handoff: 'التحدث إلى شخص',
  handoffRequested: 'سينضم إليك أحد الموظفين قريبًا.',
  visitor: 'أنت',
  assistant: 'المساعد',
  operator: 'الدعم',
  system: 'تنبيه',
  typing: '{who} يكتب…',
  notSent: 'لم تُرسل',
  retry: 'إعادة المحاولة',
  unread: {
    zero: 'لا رسائل غير مقروءة',
    one: 'رسالة واحدة غير مقروءة',
    two: 'رسالتان غير مقروءتين',
    few: '{n} رسائل غير مقروءة',
    other: '{n} رسالة غير مقروءة',
  },
  connecting: 'جارٍ الاتصال…',
  reconnecting: 'غير متصل. جارٍ إعادة الاتصال…',
  offline: {
    one: 'غير متصل. رسالة واحدة بانتظار الإرسال.',
    two: 'غير متصل. رسالتان بانتظار الإرسال.',
    few: 'غير متصل. {n} رسائل بانتظار الإرسال.',
    other: 'غير متصل. {n} رسالة بانتظار الإرسال.',
  },
  notAvailable: 'الدردشة غير متاحة على هذا الموقع.',
  ended: 'انتهت هذه الدردشة.',
  signInFailed: 'تعذّر بدء الدردشة على هذه الصفحة.',
  revoked: 'أُوقفت هذه الدردشة.',
  conversationEnded: 'انتهت هذه المحادثة. أرسل رسالة لبدء محادثة جديدة.',
  tooManyTabs: 'الدردشة مفتوحة في علامات تبويب كثيرة. أغلق إحداها وحاول مجددًا.',
  tooManyAttempts: 'محاولات كثيرة. حاول مجددًا بعد قليل.',
  broken: 'حدث خطأ. أعد تحميل الصفحة.',
  unavailable: 'الدردشة غير متاحة الآن.',
};

/** The locale tables, by primary language subtag. */
export const LOCALES: Readonly<Record<string, Strings>> = { en, ar };

/** The supported locale for a BCP 47 tag (`ar-EG` → `ar`); English for anything else. */
export function resolveLocale(tag: string | null | undefined): string {
  const primary = (tag ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return Object.hasOwn(LOCALES, primary) ? primary : 'en';
}

/** `template` with `{name}` replaced by `values[name]`; plain text in, plain text out. */
export function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The plural form for `n` in `locale`, with `{n}` written in that locale's digits. */
export function plural(forms: Plural, n: number, locale: string): string {
  const form = forms[new Intl.PluralRules(locale).select(n)] ?? forms.other;
  return fill(form, { n: n.toLocaleString(locale) });
}
