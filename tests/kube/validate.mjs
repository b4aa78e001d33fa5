// validate.mjs -- checks Kubernetes manifests offline, for the kube tests.
//
//   node validate.mjs FILE...
//
// Each document of each FILE (and each item of a List) is validated
// against the Kubernetes OpenAPI schema by the npm package
// kubernetes-models (`new Deployment(obj).validate()`: types, required
// fields, formats).  That validator lets unknown fields through, so every
// field name is also checked against the TypeScript declarations the
// package ships (v1/Container.d.ts ...), following the declared types down
// the object, and string-literal unions ("Always" | "IfNotPresent") are
// checked as enums.  Prints one line per problem; exit 0 when none, 1
// otherwise, 2 when a file cannot be read or parsed.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import yaml from "js-yaml";

const require = createRequire(import.meta.url);
const modelsDir = path.dirname(require.resolve("kubernetes-models/package.json"));
const nodeModules = path.dirname(modelsDir);

// The module of apiVersion: "v1" -> v1, "apps/v1" -> apps/v1.
async function modelClass(apiVersion, kind) {
	const dir = path.join(modelsDir, apiVersion);
	const file = path.join(dir, kind + ".js");
	if (!fs.existsSync(file))
		return null;
	const mod = await import(file);
	return { cls: mod[kind], dts: path.join(dir, kind + ".d.ts") };
}

// d.ts parsing: the first interface of a file, its fields and their types.
const dtsCache = new Map();
function parseDts(file) {
	if (dtsCache.has(file))
		return dtsCache.get(file);
	const text = fs.readFileSync(file, "utf8");
	const imports = new Map();
	for (const m of text.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
		for (const name of m[1].split(",").map((s) => s.trim()))
			imports.set(name, m[2]);
	}
	const body = text.match(/export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/);
	const fields = new Map();
	if (body) {
		// Only the top-level lines (4 spaces) are fields of this interface.
		for (const line of body[1].split("\n")) {
			const m = line.match(/^    "([^"]+)"\??: (.*?);?$/);
			if (m)
				fields.set(m[1], m[2]); // "{": a map, on lines of its own
		}
	}
	const r = { file, imports, fields, found: !!body };
	dtsCache.set(file, r);
	return r;
}

function resolveImport(fromFile, spec) {
	let p;
	if (spec.startsWith("."))
		p = path.resolve(path.dirname(fromFile), spec);
	else
		p = path.join(nodeModules, spec);
	p = p.replace(/\.js$/, "");
	for (const c of [p + ".d.ts", path.join(p, "index.d.ts")])
		if (fs.existsSync(c))
			return c;
	return null;
}

// Checks value against type (a d.ts type string seen from file dts).
function checkType(value, type, dts, where, errors) {
	type = type.trim();
	if (value === null || value === undefined)
		return;
	let m;
	if ((m = type.match(/^Array<(.*)>$/))) {
		if (Array.isArray(value))
			value.forEach((v, i) => checkType(v, m[1], dts, `${where}[${i}]`, errors));
		return;
	}
	if (type.startsWith("{"))
		return; // a map of free keys
	if (/^("[^"]*"( \| )?)+$/.test(type)) {
		const allowed = [...type.matchAll(/"([^"]*)"/g)].map((x) => x[1]);
		if (typeof value === "string" && !allowed.includes(value))
			errors.push(`${where}: "${value}" is not one of ${allowed.join(", ")}`);
		return;
	}
	if (/^I[A-Z]\w*$/.test(type) && dts.imports.has(type)) {
		const file = resolveImport(dts.file, dts.imports.get(type));
		if (file)
			checkObject(value, parseDts(file), where, errors);
	}
}

function checkObject(obj, dts, where, errors) {
	if (typeof obj !== "object" || Array.isArray(obj))
		return;
	if (!dts.found) {
		errors.push(`${where}: an object where ${path.basename(dts.file)} declares none`);
		return;
	}
	for (const [k, v] of Object.entries(obj)) {
		if (!dts.fields.has(k)) {
			errors.push(`${where}: unknown field "${k}" (${path.basename(dts.file)})`);
			continue;
		}
		checkType(v, dts.fields.get(k), dts, `${where}.${k}`, errors);
	}
}

async function checkDoc(obj, label, errors) {
	if (obj === null || obj === undefined)
		return 0;
	if (typeof obj !== "object" || !obj.apiVersion || !obj.kind) {
		errors.push(`${label}: not a Kubernetes object (no apiVersion or kind)`);
		return 0;
	}
	if (obj.kind === "List" && Array.isArray(obj.items)) {
		let n = 0;
		for (let i = 0; i < obj.items.length; i++)
			n += await checkDoc(obj.items[i], `${label}.items[${i}]`, errors);
		return n;
	}
	const name = `${label} (${obj.kind} ${obj.metadata?.name ?? "?"})`;
	const m = await modelClass(obj.apiVersion, obj.kind);
	if (!m) {
		errors.push(`${name}: no model for ${obj.apiVersion} ${obj.kind}`);
		return 0;
	}
	try {
		new m.cls(obj).validate();
	} catch (e) {
		errors.push(`${name}: ${e.message}`);
	}
	checkObject(obj, parseDts(m.dts), name, errors);
	return 1;
}

let status = 0, objects = 0;
for (const file of process.argv.slice(2)) {
	let docs;
	try {
		docs = yaml.loadAll(fs.readFileSync(file, "utf8"));
	} catch (e) {
		console.log(`${file}: ${e.message}`);
		status = 2;
		continue;
	}
	const errors = [];
	for (let i = 0; i < docs.length; i++)
		objects += await checkDoc(docs[i], `${file}: document ${i + 1}`, errors);
	for (const e of errors)
		console.log(e);
	if (errors.length > 0 && status === 0)
		status = 1;
}
console.log(`# ${objects} objects checked`);
process.exit(status);
