// The bundled extension, dist/extension.js (what `vsce package` ships), loaded in Node with a
// stand-in for the `vscode` module, which only VS Code provides: the bundle needs no other
// module than Node's own, and it starts the server the `factotum.server.path` setting names.
// `npm test` runs it on this folder; `.ci/run` again on the extension unpacked from the .vsix,
// named by FACTOTUM_EXTENSION_DIR. Starting the server for real, with a real client, is
// tests/lsp_neovim.rs's part.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const Module = require('node:module');
const os = require('node:os');
const path = require('node:path');
const test = require('node:test');

const extensionDir = process.env.FACTOTUM_EXTENSION_DIR ?? path.join(__dirname, '..');
const manifest = JSON.parse(fs.readFileSync(path.join(extensionDir, 'package.json'), 'utf8'));

/**
 * A value that is every part of the `vscode` API that the bundle touches while it loads: any
 * property is another such value, and it can be called, constructed and extended.
 */
function anything() {
    return new Proxy(function () {}, {
        get(target, property) {
            if (property === 'prototype') {
                return target.prototype;
            }
            // Not a promise, nor a primitive.
            if (property === 'then' || typeof property === 'symbol') {
                return undefined;
            }
            return anything();
        },
        apply: () => anything(),
        construct: () => anything(),
    });
}

/** The user's settings; what is not set has the default package.json declares, as in VS Code. */
let userSettings = {};
function getConfiguration(section) {
    return {
        get(key, fallback) {
            const name = `${section}.${key}`;
            if (name in userSettings) {
                return userSettings[name];
            }
            const declared = manifest.contributes.configuration.properties[name];
            return declared === undefined ? fallback : declared.default;
        },
    };
}

const vscode = new Proxy(
    { workspace: new Proxy({ getConfiguration }, { get: (target, key) => target[key] ?? anything() }) },
    { get: (target, key) => target[key] ?? anything() },
);

/** The bundle, copied away from node_modules so that only what it holds can be required. */
function loadBundle() {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'factotum-extension-'));
    const copy = path.join(folder, 'extension.js');
    fs.copyFileSync(path.join(extensionDir, manifest.main), copy);
    const load = Module._load;
    Module._load = function (request, ...rest) {
        return request === 'vscode' ? vscode : load.call(this, request, ...rest);
    };
    try {
        return require(copy);
    } finally {
        Module._load = load;
        fs.rmSync(folder, { recursive: true });
    }
}

const extension = loadBundle();

test('the entry point is the bundle, with activate and deactivate', () => {
    assert.equal(manifest.main, './dist/extension.js');
    assert.equal(typeof extension.activate, 'function');
    assert.equal(typeof extension.deactivate, 'function');
});

test('by default the server is factotum lsp, found on PATH', () => {
    userSettings = {};
    assert.deepEqual(extension.serverOptions(), { command: 'factotum', args: ['lsp'] });
});

test('factotum.server.path names the binary', () => {
    userSettings = { 'factotum.server.path': '/opt/factotum 0.8/bin/factotum' };
    assert.deepEqual(extension.serverOptions(), {
        command: '/opt/factotum 0.8/bin/factotum',
        args: ['lsp'],
    });
});

test('a blank or null factotum.server.path means the default', () => {
    for (const value of ['', '  ', null]) {
        userSettings = { 'factotum.server.path': value };
        assert.deepEqual(extension.serverOptions(), { command: 'factotum', args: ['lsp'] });
    }
});

test('the server gets the DSL and factfiles, and no other JSON', () => {
    const languages = extension.documentSelector.map((filter) => filter.language);
    assert.ok(languages.includes('factotum'));
    for (const filter of extension.documentSelector.filter((filter) => filter.language === 'json')) {
        assert.match(filter.pattern, /\*\.factfile(\.json)?$/);
    }
});
