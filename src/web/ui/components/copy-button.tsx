import { useEffect, useState } from 'preact/hooks';

/** Clipboard API where the page is a secure context, else the old selection copy (plain http on a LAN). */
async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard) return navigator.clipboard.writeText(text);
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('the browser refused to copy');
}

/**
 * A button showing `caption` (default "Copy") that copies `text`; `label` names it for assistive technology and
 * should start with the caption, so speech input finds it by what it shows.
 */
export function CopyButton(props: { text: string; caption?: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const timer = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  const copy = () => copyText(props.text).then(() => setState('copied'), () => setState('failed'));
  return (
    <span class="copy">
      <button type="button" class="small" onClick={copy} aria-label={props.label} title={props.text}>
        {state === 'copied' ? 'Copied' : (props.caption ?? 'Copy')}
      </button>
      <span class="visually-hidden" role="status">
        {state === 'copied' ? 'Copied to the clipboard' : state === 'failed' ? 'Could not copy: select the command and copy it' : ''}
      </span>
    </span>
  );
}
