import { readFileSync, readdirSync, statSync } from 'node:fs'; import path from 'node:path';
const ROOT='/work/main';
const { verifyBundle } = await import(ROOT+'/dist/src/verify/bundle.js');
const { loadTrustedRoot } = await import(ROOT+'/dist/src/trust/index.js');
const sv = await import('@sigstore/verify'); const sb = await import('@sigstore/bundle'); const specs = await import('@sigstore/protobuf-specs');
const root = await loadTrustedRoot({ offline: true });
const out = [];
const walk = (dir) => { for (const e of readdirSync(dir)) { const p = path.join(dir, e); if (statSync(p).isDirectory()) walk(p); else if (/\.(intoto\.jsonl|build\.slsa|intoto\.build\.slsa|intoto\.sigstore)$/.test(e) && !/wrong-signer/.test(e)) for (const line of readFileSync(p, 'utf8').split('\n').filter((l) => l.trim())) { const b = JSON.parse(line); if (!b.mediaType || !b.dsseEnvelope) continue; const st = JSON.parse(Buffer.from(b.dsseEnvelope.payload, 'base64').toString()); out.push({ json: b, hex: st.subject[0].digest.sha256 }); } } };
walk('/work/shared/corpora/slsa-verifier/cli/slsa-verifier/testdata');
const items = out.slice(0, 40);
const v = new sv.Verifier(sv.toTrustMaterial(specs.TrustedRoot.fromJSON(root)), {});
const trust = { trustedRoot: root, identities: [{ subjectRegexp: '.*', issuerRegexp: '.*' }] };
const raw = () => { for (const it of items) v.verify(sv.toSignedEntity(sb.bundleFromJSON(it.json))); };
const ours = async () => { for (const it of items) { const r = await verifyBundle(it.json, { kind: 'digest', algorithm: 'sha256', hex: it.hex }, trust); if (!r.report.ok) throw new Error(r.report.error); } };
raw(); await ours();
const R=[],O=[];
for (let k = 0; k < 3; k++) { let t=performance.now(); raw(); R.push(performance.now()-t); t=performance.now(); await ours(); O.push(performance.now()-t); }
console.log('per bundle ms: raw', (Math.min(...R)/items.length).toFixed(2), 'ours', (Math.min(...O)/items.length).toFixed(2));
