/** The version every part reports (Engine API `Version`, Server and User-Agent headers). */
export const wharfVersion = '0.1.0';
