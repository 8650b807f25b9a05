import { Fault } from './fault.ts';

/**
 * moby's registry.ValidateMirror: an http(s) URL of a host[:port] with no path, query, fragment or credentials,
 * returned with exactly one trailing `/` (what dockerd stores and `docker info` lists). The scheme wording is
 * moby 28's (it names the fix); the path rule is moby 20.10's, the anchor here (later moby accepts a path).
 */
export function validateMirror(text: string): string {
  const schemeEnd = text.indexOf('://');
  if (schemeEnd <= 0) {
    throw invalid(`no scheme specified for ${quote(text)}: must use either 'https://' or 'http://'`);
  }
  if (!URL.canParse(text)) throw invalid(`${quote(text)} is not a valid URI`);
  const uri = new URL(text);
  if (uri.protocol !== 'http:' && uri.protocol !== 'https:') {
    throw invalid(`unsupported scheme ${quote(text.slice(0, schemeEnd).toLowerCase())} in ${quote(text)}: must use either 'https://' or 'http://'`);
  }
  if (uri.pathname !== '/' || uri.search !== '' || uri.hash !== '') {
    throw invalid(`path, query, or fragment at end of the URI ${quote(text)}`);
  }
  if (uri.username !== '' || uri.password !== '') {
    // The password never reaches a log or an error.
    throw invalid(`username/password not allowed in URI ${quote(text.replace(/\/\/[^@/]*@/, `//${uri.username}:xxxxx@`))}`);
  }
  return text.endsWith('/') ? text : `${text}/`;
}

function invalid(reason: string): Fault {
  return new Fault('invalid-argument', `invalid mirror: ${reason}`);
}

/** Go's %q for the ASCII text of a URL. */
function quote(text: string): string {
  return JSON.stringify(text);
}
