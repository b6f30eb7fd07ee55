// The extension's code: it runs `factotum lsp` as the language server of job files, for the
// diagnostics of `factotum check` as you type, navigation, completion, rename, formatting and
// quick fixes. The grammar and the factfile schema are declared in package.json alone.
// esbuild bundles this file with vscode-languageclient into dist/extension.js (`npm run build`).
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

/** The setting that names the binary, and the binary when it names none. */
const SERVER_PATH = 'server.path';
const DEFAULT_SERVER = 'factotum';

/**
 * The documents the server reads: the DSL, and factfiles, which VS Code opens as JSON. Other
 * JSON files are left alone: checked as jobs, every one would be an error. Only files, as the
 * server picks the syntax by the file name.
 */
const documentSelector = [
    { scheme: 'file', language: 'factotum' },
    { scheme: 'file', language: 'json', pattern: '**/*.factfile' },
    { scheme: 'file', language: 'json', pattern: '**/*.factfile.json' },
];

/** How the server is started: `factotum.server.path` (blank means the default) with `lsp`. */
function serverOptions() {
    const configured = vscode.workspace.getConfiguration('factotum').get(SERVER_PATH);
    const command = (typeof configured === 'string' && configured.trim()) || DEFAULT_SERVER;
    return { command, args: ['lsp'] };
}

let client;

async function startClient() {
    const options = serverOptions();
    client = new LanguageClient('factotum', 'factotum language server', options, {
        documentSelector,
    });
    try {
        await client.start();
    } catch (error) {
        vscode.window.showErrorMessage(
            `factotum: \`${options.command} lsp\` did not start (${error.message}). ` +
                'Set factotum.server.path to the factotum binary.',
        );
    }
}

async function stopClient() {
    const running = client;
    client = undefined;
    if (running !== undefined && running.isRunning()) {
        await running.stop();
    }
}

async function activate(context) {
    context.subscriptions.push(
        vscode.workspace.onDidChangeConfiguration(async (event) => {
            if (event.affectsConfiguration(`factotum.${SERVER_PATH}`)) {
                await stopClient();
                await startClient();
            }
        }),
    );
    await startClient();
}

function deactivate() {
    return stopClient();
}

module.exports = { activate, deactivate, serverOptions, documentSelector };
