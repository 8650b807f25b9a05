import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { Fault } from '../../base/fault.ts';

export type HookSender = 'github' | 'gitea' | 'gitlab';

/** What a webhook delivery asks for: a build of `commit`, or nothing (with the reason). */
export type HookVerdict = { build: true; commit: string; sender: HookSender } | { build: false; ignored: string };

const zeroCommit = /^0{40}$/;
const pushPayload = z.object({
  ref: z.string(),
  after: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex commit'),
  // GitLab: the commit to check out (null when the branch was deleted).
  checkout_sha: z.string().regex(/^[0-9a-f]{40}$/).nullable().optional(),
  deleted: z.boolean().optional(),
}).passthrough();

const header = (headers: IncomingHttpHeaders, name: string) => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * A push event from GitHub (`X-GitHub-Event`, `X-Hub-Signature-256: sha256=<hmac>`), Gitea (`X-Gitea-Event`,
 * `X-Gitea-Signature: <hmac>`) or GitLab (`X-Gitlab-Event: Push Hook`, `X-Gitlab-Token`), checked against the
 * autobuild's secret in constant time before its body is read. Only a push to `branch` builds; the commit is the
 * payload's `after` (GitLab: `checkout_sha`). The clone URL is never taken from the payload.
 */
export function readHook(headers: IncomingHttpHeaders, body: Buffer, secret: string, branch: string): HookVerdict {
  const sender = senderOf(headers);
  verify(sender, headers, body, secret);
  const event = sender === 'gitea' ? header(headers, 'x-gitea-event') : sender === 'gitlab' ? header(headers, 'x-gitlab-event') : header(headers, 'x-github-event');
  if (event === 'ping') return { build: false, ignored: 'ping' };
  if (event !== 'push' && event !== 'Push Hook') return { build: false, ignored: `event ${String(event).slice(0, 64)} is not a push` };
  const payload = pushPayload.safeParse(payloadJson(headers, body));
  if (!payload.success) {
    const issue = payload.error.issues[0];
    throw new Fault('invalid-argument', `push payload: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, { code: 'INVALID' });
  }
  const push = payload.data;
  if (push.ref !== `refs/heads/${branch}`) return { build: false, ignored: `a push to ${push.ref.slice(0, 255)}, not refs/heads/${branch}` };
  const commit = sender === 'gitlab' ? push.checkout_sha : push.after;
  if (push.deleted || !commit || zeroCommit.test(commit)) return { build: false, ignored: `refs/heads/${branch} was deleted` };
  return { build: true, commit, sender };
}

function senderOf(headers: IncomingHttpHeaders): HookSender {
  if (header(headers, 'x-gitea-event')) return 'gitea';
  if (header(headers, 'x-gitlab-event')) return 'gitlab';
  if (header(headers, 'x-github-event')) return 'github';
  throw new Fault('invalid-argument', 'not a GitHub, Gitea or GitLab event (no X-GitHub-Event, X-Gitea-Event or X-Gitlab-Event header)', { code: 'INVALID' });
}

function verify(sender: HookSender, headers: IncomingHttpHeaders, body: Buffer, secret: string): void {
  const given = sender === 'gitea' ? header(headers, 'x-gitea-signature') : sender === 'gitlab' ? header(headers, 'x-gitlab-token') : header(headers, 'x-hub-signature-256');
  if (!given) throw new Fault('unauthenticated', `the ${sender} event carries no signature (${sender === 'gitlab' ? 'X-Gitlab-Token' : sender === 'gitea' ? 'X-Gitea-Signature' : 'X-Hub-Signature-256'}): set the webhook's secret`);
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  const expected = sender === 'gitlab' ? secret : sender === 'gitea' ? hmac : `sha256=${hmac}`;
  // Hashed first: equal lengths for timingSafeEqual, and nothing about the secret's length leaks.
  const same = timingSafeEqual(createHash('sha256').update(given.trim()).digest(), createHash('sha256').update(expected).digest());
  if (!same) throw new Fault('permission-denied', `the ${sender} event's signature does not match the autobuild's secret`);
}

/** The JSON body, or GitHub's form encoding (`payload=<json>`). */
function payloadJson(headers: IncomingHttpHeaders, body: Buffer): unknown {
  const form = (header(headers, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded');
  const text = form ? new URLSearchParams(body.toString('utf8')).get('payload') ?? '' : body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    throw new Fault('invalid-argument', form ? 'the form field payload is not JSON' : 'the body is not valid JSON', { code: 'INVALID' });
  }
}
