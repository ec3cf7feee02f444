// Writes three records with mozlog's Heka formatter to stdout: what an app
// using mozlog pipes into the tcp input.
const log = require('mozlog')({app: 'fxa-test', level: 'verbose', fmt: 'heka'})('routes');
log.info('request.summary', {path: '/v1/account', status: 200, t: 17, nested: {a: [1, 2]}});
log.error('oops', new Error('boom'));
log.info('plain', 'a string');
