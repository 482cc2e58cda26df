// SPDX-License-Identifier: GPL-2.0-or-later
// Sync API traffic against docs/sync-api.openapi.yaml, with an independent
// validator (ajv, from npm; none of the project's own parsers):
//
//   node validate.mjs proxy --spec YAML --listen-port-file FILE
//        --target https://127.0.0.1:PORT --cert PEM --key PEM --ca PEM
//        --record FILE.jsonl
//     a recording HTTPS proxy: lokerd talks to it as to its server, it
//     passes every request on to the real server and writes each exchange
//     (method, URL, headers, both bodies) to FILE.jsonl; until SIGTERM.
//
//   node validate.mjs check --spec YAML [--requests] [--need OPS] FILE.jsonl
//     validates every reply of FILE.jsonl (and with --requests every
//     request body too) against the operation's schema, and the headers
//     the API requires on every reply. --need changes,events,status,items
//     fails unless each of those operations was seen with a 2xx reply.
//     Prints one line per problem; exits 1 on any, 0 when all hold.
//
// The exchange lines sync-api.sh writes have the same form.
import fs from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const MAX_BODY = 5 << 20;

function loadSpec(path) {
	const spec = YAML.parse(fs.readFileSync(path, 'utf8'));
	const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
	addFormats(ajv);
	// x-known and example are for people and doc-check.py.
	ajv.addSchema({ ...spec, $id: 'openapi' });
	return { spec, ajv };
}

function deref(spec, node) {
	while (node && node.$ref && node.$ref.startsWith('#/')) {
		node = node.$ref.slice(2).split('/').reduce((o, k) => o[k], spec);
	}
	return node;
}

// /kiosks/{id}/changes, or the same inside SLiMS's ?p=...
function operationOf(spec, rawUrl, method) {
	const url = new URL(rawUrl, 'https://x');
	let path = url.pathname;
	const p = url.searchParams.get('p');
	if (p !== null) path = '/' + p.split('?')[0];
	const m = path.match(/\/kiosks\/([^/]+)\/(changes|events|status|items\/.+)$/);
	if (!m) return { known: false };
	let rest = m[2];
	// v1.1's POST items/lookup; a GET there is v1's barcode "lookup".
	if (rest.startsWith('items/'))
		rest = rest === 'items/lookup' && method !== 'GET' ? 'items/lookup' : 'items/{barcode}';
	const key = `/kiosks/{kiosk_id}/${rest}`;
	const item = spec.paths[key];
	if (!item) return { known: false };
	const op = item[method.toLowerCase()];
	const other = Object.keys(item).find((k) => ['get', 'post'].includes(k));
	return { known: true, key, op, name: (op || item[other]).operationId, wrongMethod: !op };
}

function check(args, files) {
	const { spec, ajv } = loadSpec(args.spec);
	const problems = [];
	const seen = new Set();
	let n = 0;
	const errorSchema = { $ref: 'openapi#/components/schemas/Error' };
	const validate = (schemaRef, data, what) => {
		const v = ajv.getSchema(schemaRef) || ajv.compile({ $ref: schemaRef });
		if (!v(data))
			problems.push(`${what}: ${ajv.errorsText(v.errors, { separator: '; ', dataVar: 'body' })}`);
	};
	const refOf = (schema) => (schema.$ref ? 'openapi' + schema.$ref : null);
	for (const file of files) {
		const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
		for (const line of lines) {
			const x = JSON.parse(line);
			n++;
			const what = `${x.method} ${x.url} -> ${x.status}`;
			const h = Object.fromEntries(Object.entries(x.resHeaders || {}).map(([k, v]) => [k.toLowerCase(), v]));
			const o = operationOf(spec, x.url, x.method);
			// The reply: its headers first.
			if (!/no-store/i.test(h['cache-control'] || ''))
				problems.push(`${what}: no Cache-Control: no-store`);
			if (!/^application\/json/i.test(h['content-type'] || ''))
				problems.push(`${what}: Content-Type is not application/json`);
			if (x.status === 401 && !/^bearer/i.test(h['www-authenticate'] || ''))
				problems.push(`${what}: a 401 without WWW-Authenticate: Bearer`);
			if (h['lokerbuku-sync'] !== undefined && !/^1\.[0-9]+$/.test(h['lokerbuku-sync']))
				problems.push(`${what}: Lokerbuku-Sync: "${h['lokerbuku-sync']}" is not 1.<minor>`);
			if ((x.status === 429 || x.status === 503) && !h['retry-after'])
				problems.push(`${what}: no Retry-After`);
			let body;
			try {
				body = JSON.parse(x.resBody);
			} catch (e) {
				problems.push(`${what}: the reply is not JSON: ${e.message}`);
				continue;
			}
			if (!o.known || o.wrongMethod) {
				// No such endpoint (404, or 401 before routing) or a
				// method not allowed: the Error body.
				if (o.wrongMethod && x.status !== 405 && x.status !== 401)
					problems.push(`${what}: the wrong method, not answered 405`);
				validate('openapi#/components/schemas/Error', body, what);
				continue;
			}
			const resp = deref(spec, o.op.responses[String(x.status)]);
			if (!resp) {
				problems.push(`${what}: status ${x.status} is not one ${o.name} may answer`);
				continue;
			}
			const schema = resp.content['application/json'].schema;
			validate(refOf(schema) || errorSchema.$ref, body, what);
			if (x.status >= 200 && x.status < 300) seen.add(o.name);
			// The request, as the kiosk sent it.
			if (args.requests && o.op.requestBody) {
				let req;
				try {
					req = JSON.parse(x.reqBody);
				} catch (e) {
					problems.push(`${what}: the request is not JSON: ${e.message}`);
					continue;
				}
				const rs = o.op.requestBody.content['application/json'].schema;
				validate(refOf(rs), req, `${what} (request)`);
				if (!/^application\/json/i.test((x.reqHeaders || {})['content-type'] || ''))
					problems.push(`${what} (request): Content-Type is not application/json`);
			}
			if (args.requests && !/^Bearer [!-~]{32,1024}$/.test((x.reqHeaders || {}).authorization || ''))
				problems.push(`${what} (request): no Authorization: Bearer token`);
		}
	}
	const need = args.need ? args.need.split(',') : [];
	const names = { changes: 'getChanges', events: 'postEvents', status: 'postStatus', items: 'getItem',
			lookup: 'lookupItem' };
	for (const w of need) {
		if (!seen.has(names[w] || w)) problems.push(`no successful ${w} exchange was seen`);
	}
	for (const p of problems) console.log(`not ok - ${p}`);
	console.log(`# validate: ${n} exchanges against ${args.spec}: ${problems.length} problem(s)`);
	process.exit(problems.length ? 1 : 0);
}

function proxy(args) {
	const target = new URL(args.target);
	const ca = fs.readFileSync(args.ca);
	const out = fs.openSync(args.record, 'a');
	const agent = new https.Agent({ keepAlive: true, ca });
	const server = https.createServer(
		{ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) },
		(req, res) => {
			const chunks = [];
			let size = 0;
			req.on('data', (c) => {
				size += c.length;
				if (size <= MAX_BODY) chunks.push(c);
			});
			req.on('end', () => {
				const reqBody = Buffer.concat(chunks);
				const headers = { ...req.headers, host: target.host };
				const up = https.request(
					{ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent,
					  servername: target.hostname },
					(ur) => {
						const rc = [];
						ur.on('data', (c) => rc.push(c));
						ur.on('end', () => {
							const resBody = Buffer.concat(rc);
							fs.writeSync(out, JSON.stringify({
								method: req.method, url: req.url, status: ur.statusCode,
								reqHeaders: { 'content-type': req.headers['content-type'],
									      authorization: req.headers.authorization },
								reqBody: reqBody.toString('utf8'),
								resHeaders: ur.headers, resBody: resBody.toString('utf8'),
							}) + '\n');
							res.writeHead(ur.statusCode, ur.headers);
							res.end(resBody);
						});
					});
				up.on('error', (e) => {
					console.error(`validate proxy: ${req.method} ${req.url}: ${e.message}`);
					res.destroy();
				});
				up.end(reqBody);
			});
		});
	server.keepAliveTimeout = 65000;
	server.listen(0, '127.0.0.1', () => {
		const tmp = args['listen-port-file'] + '.tmp';
		fs.writeFileSync(tmp, `${server.address().port}\n`);
		fs.renameSync(tmp, args['listen-port-file']);
	});
	process.on('SIGTERM', () => {
		fs.closeSync(out);
		process.exit(0);
	});
}

const { values: args, positionals } = parseArgs({
	allowPositionals: true,
	options: {
		spec: { type: 'string' }, requests: { type: 'boolean' }, need: { type: 'string' },
		'listen-port-file': { type: 'string' }, target: { type: 'string' }, cert: { type: 'string' },
		key: { type: 'string' }, ca: { type: 'string' }, record: { type: 'string' },
	},
});
const [mode, ...files] = positionals;
if (mode === 'check' && args.spec && files.length) check(args, files);
else if (mode === 'proxy' && args.spec !== undefined && args.target && args.record) proxy(args);
else {
	console.error('usage: validate.mjs check --spec YAML [--requests] [--need OPS] FILE.jsonl...\n'
		+ '       validate.mjs proxy --spec YAML --listen-port-file F --target URL --cert C --key K --ca CA --record F');
	process.exit(2);
}
