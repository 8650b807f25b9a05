import { render } from 'preact';
import { App } from './app.tsx';
import { fetchSession } from './session.tsx';

// One render that already knows who calls: the page's own requests start before the first paint.
render(<App session={await fetchSession()} />, document.getElementById('app') as HTMLElement);
