import { render } from 'preact';
import { App } from './app.tsx';
import { embeddedSession, fetchSession } from './session.tsx';

// One render that already knows who calls (the server writes it into the page; asked for only when it did not):
// the page's own requests start before the first paint.
render(<App session={embeddedSession() ?? (await fetchSession())} />, document.getElementById('app') as HTMLElement);
