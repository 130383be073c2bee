import { describe, expect, it } from 'vitest';
import { readEmbedOptions } from '../../src/embed/options.js';

const SRC = 'https://chat.example.com/widget.js';

function tag(dataset: Record<string, string>, src = SRC) {
  return { src, dataset };
}

describe('readEmbedOptions', () => {
  it('takes the API base from the origin of its own src', () => {
    const config = readEmbedOptions(
      tag({ siteToken: 'a.b.c' }, 'https://chat.example.com:8443/widget/0.1.0/widget.js?x=1'),
    );
    expect(config).toEqual({
      ok: true,
      options: {
        serverUrl: 'https://chat.example.com:8443',
        siteToken: 'a.b.c',
        storage: 'local',
        locale: 'en',
      },
    });
  });

  it('prefers data-server, keeping a path prefix', () => {
    const config = readEmbedOptions(tag({ siteToken: 't', server: 'https://example.org/chat/' }));
    expect(config.ok && config.options.serverUrl).toBe('https://example.org/chat/');
  });

  it('reads locale, storage and theme options', () => {
    const config = readEmbedOptions(
      tag({ siteToken: 't', locale: 'ar', storage: 'session', color: '#ffd400', position: 'left' }),
    );
    expect(config.ok && config.options).toMatchObject({
      locale: 'ar',
      storage: 'session',
      color: '#ffd400',
      position: 'left',
    });
  });

  it('falls back to the page language, then English; unknown storage to local', () => {
    expect(readEmbedOptions(tag({ siteToken: 't' }), 'ar-EG')).toMatchObject({
      options: { locale: 'ar-EG' },
    });
    expect(readEmbedOptions(tag({ siteToken: 't', storage: 'cookie' }))).toMatchObject({
      options: { storage: 'local' },
    });
    expect(readEmbedOptions(tag({ siteToken: 't', storage: 'memory' }))).toMatchObject({
      options: { storage: 'memory' },
    });
  });

  it('refuses a tag without a site token or a usable server', () => {
    expect(readEmbedOptions(null)).toMatchObject({ ok: false });
    expect(readEmbedOptions(tag({}))).toEqual({ ok: false, problem: 'data-site-token is missing' });
    expect(readEmbedOptions(tag({ siteToken: '  ' }))).toMatchObject({ ok: false });
    expect(readEmbedOptions(tag({ siteToken: 't', server: 'javascript:alert(1)' }))).toMatchObject({
      ok: false,
    });
    expect(readEmbedOptions(tag({ siteToken: 't' }, 'data:text/javascript,1'))).toMatchObject({
      ok: false,
    });
  });
});
