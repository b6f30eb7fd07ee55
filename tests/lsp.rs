//! `factotum lsp` through the real binary: a small JSON-RPC client on its pipes. Every read
//! waits at most [`PATIENCE`] for the message it needs, and a server that has not exited by
//! then is killed and the test fails.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::test::{Test, manifest_dir};

/// How long a test waits for any one message or for the server to exit: far beyond what a
/// loaded machine needs, so that only a server that stopped answering reaches it.
const PATIENCE: Duration = Duration::from_secs(60);

/// A client speaking to one `factotum lsp` process.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The server's messages, read on a thread of their own.
    messages: Receiver<Value>,
    /// Notifications read while waiting for a response, not yet asked for.
    pending: Vec<Value>,
    next_id: i64,
}

impl Client {
    /// Starts the server and initializes it with `capabilities`; the `initialize` result.
    fn start(capabilities: Value) -> (Self, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_factotum"))
            .args(["lsp", "--stdio"])
            .current_dir(manifest_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("factotum lsp starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, messages) = mpsc::channel();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if sender.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Self {
            stdin: child.stdin.take(),
            child,
            messages,
            pending: Vec::new(),
            next_id: 0,
        };
        let mut params = json!({"processId": null, "rootUri": null});
        params["capabilities"] = capabilities;
        let result = client.request("initialize", params);
        client.notify("initialized", json!({}));
        (client, result)
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin is open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("the server reads");
        stdin.flush().expect("the server reads");
    }

    fn notify(&mut self, method: &str, params: Value) {
        let mut message = json!({"jsonrpc": "2.0", "method": method});
        message["params"] = params;
        self.send(&message);
    }

    /// The next message from the server, failing the test after [`PATIENCE`].
    fn receive(&mut self) -> Value {
        match self.messages.recv_timeout(PATIENCE) {
            Ok(message) => message,
            Err(error) => panic!("no message from the server within {PATIENCE:?}: {error}"),
        }
    }

    /// Sends a request and returns its response's `result` (failing on an error response).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.response(method, params);
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response.get("result").cloned().unwrap_or(Value::Null)
    }

    /// Sends a request and returns its whole response, keeping notifications read meanwhile.
    fn response(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"jsonrpc": "2.0", "id": id, "method": method});
        message["params"] = params;
        self.send(&message);
        loop {
            let message = self.receive();
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
            self.pending.push(message);
        }
    }

    /// The diagnostics of the next `publishDiagnostics` for `uri`.
    fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let is_for_uri = |message: &Value| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
        };
        let message = match self.pending.iter().position(is_for_uri) {
            Some(at) => self.pending.remove(at),
            None => loop {
                let message = self.receive();
                if is_for_uri(&message) {
                    break message;
                }
                self.pending.push(message);
            },
        };
        message["params"]["diagnostics"]
            .as_array()
            .expect("a list of diagnostics")
            .clone()
    }

    fn open(&mut self, uri: &str, language: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        );
        self.diagnostics(uri)
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
        self.diagnostics(uri)
    }

    /// A request about `position` in `uri`.
    fn at(&mut self, method: &str, uri: &str, position: Value, extra: Value) -> Value {
        let mut params = json!({"textDocument": {"uri": uri}});
        params["position"] = position;
        if let Value::Object(extra) = extra {
            for (key, value) in extra {
                params[key] = value;
            }
        }
        self.request(method, params)
    }

    /// `shutdown`, then `exit`: the server's exit code.
    fn shut_down(mut self) -> i32 {
        assert_eq!(self.request("shutdown", Value::Null), Value::Null);
        self.notify("exit", Value::Null);
        self.stdin.take();
        self.exit_code()
    }

    /// The exit code, once the server has exited (killed and failing after [`PATIENCE`]).
    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("the server can be waited for") {
                return status
                    .code()
                    .expect("the server exits rather than being killed");
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {PATIENCE:?}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One framed message, `None` at the end of the stream.
fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(value) = line.strip_prefix("Content-Length: ") {
            length = value.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The position of the `nth` (from 0) occurrence of `needle` in `text`, plus `plus` bytes, in
/// UTF-16 units, as the client counts by default.
fn position_of(text: &str, needle: &str, nth: usize, plus: usize) -> Value {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} in the text"))
        .0
        + plus;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let character: usize = before[line_start..].chars().map(char::len_utf16).sum();
    json!({"line": line, "character": character})
}

/// The range of the `nth` occurrence of `needle`.
fn range_of(text: &str, needle: &str, nth: usize) -> Value {
    json!({
        "start": position_of(text, needle, nth, 0),
        "end": position_of(text, needle, nth, needle.len()),
    })
}

fn uri_of(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// A file path for a document; it need not exist (the server reads only the unsaved text).
fn document_uri(name: &str) -> String {
    uri_of(&std::env::temp_dir().join(name))
}

const DSL: &str = r#"job "nightly"

task "extract 😀 é" { run "extract" with "a b" }

task "load 漢字" {
    after "extract 😀 é"
    run "load"
}
"#;

/// A server with [`DSL`] open, and the document's URI.
fn with_dsl_open() -> (Client, String) {
    let (mut client, _) = Client::start(json!({}));
    let uri = document_uri("non-ascii.factotum");
    assert_eq!(client.open(&uri, "factotum", DSL), Vec::<Value>::new());
    (client, uri)
}

#[test]
fn a_change_introducing_then_fixing_an_error_with_its_quick_fix() {
    let (mut client, initialized) = Client::start(json!({}));
    let capabilities = &initialized["capabilities"];
    assert_eq!(capabilities["positionEncoding"], "utf-16");
    assert_eq!(capabilities["textDocumentSync"], 1);
    assert_eq!(capabilities["renameProvider"]["prepareProvider"], true);
    let uri = &document_uri("non-ascii.factotum");
    assert_eq!(client.open(uri, "factotum", DSL), Vec::<Value>::new());

    // A change introducing an error, at the right place in UTF-16 columns, with its hint.
    let misspelt = DSL.replace("after \"extract 😀 é\"", "after \"extract 😀 e\"");
    let diagnostics = client.change(uri, 2, &misspelt);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let diagnostic = &diagnostics[0];
    assert_eq!(diagnostic["code"], "E401");
    assert_eq!(diagnostic["source"], "factotum");
    assert_eq!(diagnostic["severity"], 1);
    assert_eq!(
        diagnostic["range"],
        range_of(&misspelt, "\"extract 😀 e\"", 0)
    );
    assert_eq!(
        diagnostic["message"],
        "task `load 漢字` depends on unknown task `extract 😀 e`\nhint: did you mean `extract 😀 é`?"
    );

    // Its quick fix, linked to it.
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": diagnostic["range"],
               "context": {"diagnostics": [diagnostic]}}),
    );
    assert_eq!(actions.as_array().map(Vec::len), Some(1), "{actions}");
    let action = &actions[0];
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(action["isPreferred"], true);
    assert_eq!(action["diagnostics"][0]["code"], "E401");
    assert_eq!(
        action["edit"]["changes"][uri],
        json!([{"range": diagnostic["range"], "newText": "\"extract 😀 é\""}])
    );
    // The change fixing it clears the diagnostics.
    assert_eq!(client.change(uri, 3, DSL), Vec::<Value>::new());
    assert_eq!(client.shut_down(), 0);
}

#[test]
fn navigation_between_non_ascii_names() {
    let (mut client, uri) = with_dsl_open();
    let uri = &uri;
    let reference = position_of(DSL, "\"extract 😀 é\"", 1, 3);
    let definition = client.at("textDocument/definition", uri, reference.clone(), json!({}));
    assert_eq!(
        definition,
        json!({"uri": uri, "range": range_of(DSL, "\"extract 😀 é\"", 0)})
    );
    let references = client.at(
        "textDocument/references",
        uri,
        position_of(DSL, "😀", 0, 0),
        json!({"context": {"includeDeclaration": true}}),
    );
    assert_eq!(
        references,
        json!([
            {"uri": uri, "range": range_of(DSL, "\"extract 😀 é\"", 0)},
            {"uri": uri, "range": range_of(DSL, "\"extract 😀 é\"", 1)},
        ])
    );

    let hover = client.at("textDocument/hover", uri, reference, json!({}));
    let shown = hover["contents"]["value"].as_str().expect("markdown");
    for expected in [
        "**task** ` extract 😀 é `",
        r#"sh -c 'extract "a b"'"#,
        "continue on 0",
        "waits for: nothing",
        "waited for by: ` load 漢字 `",
    ] {
        assert!(shown.contains(expected), "{expected:?} in {shown}");
    }
    let load_hover = client.at(
        "textDocument/hover",
        uri,
        position_of(DSL, "漢字", 0, 0),
        json!({}),
    );
    let shown = load_hover["contents"]["value"].as_str().expect("markdown");
    assert!(shown.contains("waits for: ` extract 😀 é `"), "{shown}");
    assert!(shown.contains(r"sh -c 'load '"), "{shown}");

    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(symbols[0]["name"], "nightly");
    let tasks: Vec<&Value> = symbols[0]["children"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|task| &task["name"])
        .collect();
    assert_eq!(tasks, [&json!("extract 😀 é"), &json!("load 漢字")]);

    assert_eq!(client.shut_down(), 0);
}

#[test]
fn completion_and_rename_in_the_dsl() {
    let (mut client, uri) = with_dsl_open();
    let uri = &uri;
    // Task names inside the string of an `after`, keywords where a statement may stand.
    let in_string = position_of(DSL, "\"extract 😀 é\"", 1, 1);
    let completion = client.at("textDocument/completion", uri, in_string.clone(), json!({}));
    let labels: Vec<&Value> = completion["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| &item["label"])
        .collect();
    assert_eq!(labels, [&json!("extract 😀 é"), &json!("load 漢字")]);
    let keywords = client.at(
        "textDocument/completion",
        uri,
        position_of(DSL, "run \"load\"", 0, 0),
        json!({}),
    );
    let labels: Vec<&str> = keywords["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|item| item["label"].as_str())
        .collect();
    for keyword in ["after", "executor", "run", "continue", "finish"] {
        assert!(labels.contains(&keyword), "{keyword} in {labels:?}");
    }

    // Rename: the definition and its reference, escaped as the DSL escapes.
    let prepared = client.at(
        "textDocument/prepareRename",
        uri,
        in_string.clone(),
        json!({}),
    );
    assert_eq!(prepared["placeholder"], "extract 😀 é");
    assert_eq!(
        prepared["range"]["start"],
        position_of(DSL, "extract 😀 é", 1, 0)
    );
    let new_name = r#"pull "raw" \ ü"#;
    let renamed = client.at(
        "textDocument/rename",
        uri,
        in_string,
        json!({"newName": new_name}),
    );
    let literal = r#""pull \"raw\" \\ ü""#;
    assert_eq!(
        renamed["changes"][uri],
        json!([
            {"range": range_of(DSL, "\"extract 😀 é\"", 0), "newText": literal},
            {"range": range_of(DSL, "\"extract 😀 é\"", 1), "newText": literal},
        ])
    );
    let after_rename = DSL.replace("\"extract 😀 é\"", literal);
    assert_eq!(client.change(uri, 4, &after_rename), Vec::<Value>::new());
    let hover = client.at(
        "textDocument/hover",
        uri,
        position_of(&after_rename, "raw", 1, 0),
        json!({}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|text| text.contains(new_name)),
        "{hover}"
    );

    assert_eq!(client.shut_down(), 0);
}

#[test]
fn formatting_is_fmt_s_and_closing_clears_diagnostics() {
    let (mut client, uri) = with_dsl_open();
    let uri = &uri;
    // Formatting gives what `fmt` writes, and nothing for a document with a syntax error.
    let untidy = "job   \"nightly\"\ntask \"b\"{run \"x\"   }\n\n\n# why\ntask \"c\" {\n run \"y\"\n after \"b\"}\n";
    client.change(uri, 5, untidy);
    let formatted = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    let fmt = Test::new().args(["fmt", "-"]).stdin(untidy).run();
    assert_eq!(fmt.status, 0, "{}", fmt.transcript());
    assert_eq!(formatted.as_array().map(Vec::len), Some(1), "{formatted}");
    assert_eq!(formatted[0]["newText"], fmt.stdout.as_str());
    assert_eq!(
        formatted[0]["range"]["start"],
        json!({"line": 0, "character": 0})
    );
    let broken = untidy.replace("run \"y\"", "run");
    assert_eq!(client.change(uri, 6, &broken)[0]["code"], "E600");
    let refused = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert_eq!(refused, Value::Null);

    // Closing clears the diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(client.diagnostics(uri), Vec::<Value>::new());
    assert_eq!(client.shut_down(), 0);
}

/// The E401 fixture with an unknown key beside its unknown dependency: both have a "did you
/// mean".
fn factfile_with_typos() -> String {
    let fixture = manifest_dir().join("tests/fixtures/check/E401-unknown-dependency.factfile");
    let text = std::fs::read_to_string(&fixture).expect("the fixture");
    text.replacen(
        "\"dependsOn\": [\n",
        "\"dependOn\": [],\n                \"dependsOn\": [\n",
        1,
    )
}

#[test]
fn a_factfile_gets_check_s_diagnostics_and_their_quick_fixes() {
    let text = factfile_with_typos();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("unknown.factfile");
    std::fs::write(&path, &text).expect("the copy is written");
    let uri = &uri_of(&path);
    let (mut client, _) = Client::start(json!({}));
    let diagnostics = client.open(uri, "json", &text);

    // Exactly `check`'s: the same codes, messages with their notes, and places (the text is
    // ASCII, so UTF-16 columns are `check`'s character columns less one).
    let check = Test::new()
        .args(["check", "--format", "json"])
        .arg(&path)
        .run();
    let checked: Vec<Value> = serde_json::from_str(&check.stdout).expect("check's JSON");
    assert!(!checked.is_empty(), "{}", check.transcript());
    assert_eq!(diagnostics.len(), checked.len(), "{diagnostics:?}");
    for (ours, theirs) in diagnostics.iter().zip(&checked) {
        let mut message = theirs["message"].as_str().expect("a message").to_owned();
        for note in theirs["notes"].as_array().expect("notes") {
            message.push('\n');
            message.push_str(note.as_str().expect("a note"));
        }
        let column = |key: &str| theirs[key].as_u64().expect("a column") - 1;
        let line = |key: &str| theirs[key].as_u64().expect("a line") - 1;
        assert_eq!(ours["code"], theirs["code"]);
        assert_eq!(ours["message"], message.as_str());
        assert_eq!(
            ours["range"],
            json!({"start": {"line": line("line"), "character": column("column")},
                   "end": {"line": line("end_line"), "character": column("end_column")}})
        );
    }

    // A quick fix for each "did you mean": the dependency and the key.
    let everything =
        json!({"start": {"line": 0, "character": 0}, "end": {"line": 999, "character": 0}});
    let actions = client.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": everything, "context": {"diagnostics": []}}),
    );
    let quick_fixes: Vec<(&Value, &Value)> = actions
        .as_array()
        .expect("actions")
        .iter()
        .map(|action| {
            let edit = &action["edit"]["changes"][uri][0];
            // The fix replaces exactly what its diagnostic points at.
            assert_eq!(edit["range"], action["diagnostics"][0]["range"], "{action}");
            (&edit["newText"], &action["diagnostics"][0]["code"])
        })
        .collect();
    assert_eq!(
        quick_fixes,
        [
            (&json!("\"dependsOn\""), &json!("E201")),
            (&json!("\"extract orders\""), &json!("E401")),
        ]
    );

    assert_eq!(client.shut_down(), 0);
}

#[test]
fn a_factfile_s_navigation_rename_and_completion_use_json_s_syntax() {
    let text = factfile_with_typos();
    let uri = &document_uri("unknown.factfile");
    let (mut client, _) = Client::start(json!({}));
    client.open(uri, "json", &text);
    // Fixed, then renamed: JSON's escapes, not the DSL's.
    let fixed = text
        .replace("\"dependOn\": [],\n                ", "")
        .replace("\"extract order\",\n", "\"extract orders\",\n")
        .replace(",\n                    \"transform\"", "");
    assert_eq!(client.change(uri, 2, &fixed), Vec::<Value>::new());
    let reference = position_of(&fixed, "\"extract orders\"", 1, 2);
    let definition = client.at("textDocument/definition", uri, reference.clone(), json!({}));
    assert_eq!(
        definition["range"],
        range_of(&fixed, "\"extract orders\"", 0)
    );
    let renamed = client.at(
        "textDocument/rename",
        uri,
        reference.clone(),
        json!({"newName": "tab\there \"q\" é"}),
    );
    let edits = renamed["changes"][uri].as_array().expect("edits");
    assert_eq!(edits.len(), 2);
    assert!(
        edits
            .iter()
            .all(|edit| edit["newText"] == r#""tab\there \"q\" é""#),
        "{edits:?}"
    );

    // Completion inside the `dependsOn` list: after the typed `e`, the names it could start,
    // each replacing what was typed.
    let completion = client.at("textDocument/completion", uri, reference.clone(), json!({}));
    assert_eq!(completion["isIncomplete"], false);
    let typed = json!({"start": position_of(&fixed, "\"extract orders\"", 1, 1), "end": reference});
    assert_eq!(
        completion["items"],
        json!([{"label": "extract orders", "kind": 18,
                "textEdit": {"range": typed, "newText": "extract orders"}}])
    );
    let hover = client.at(
        "textDocument/hover",
        uri,
        position_of(&fixed, "\"load\"", 0, 1),
        json!({}),
    );
    assert!(
        hover["contents"]["value"]
            .as_str()
            .is_some_and(|text| text.contains(r#"sh -c 'echo "hi"'"#)),
        "{hover}"
    );
    // A factfile is not formatted: `fmt` formats DSL files only.
    let formatted = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 4, "insertSpaces": true}}),
    );
    assert_eq!(formatted, Value::Null);
    assert_eq!(client.shut_down(), 0);
}

#[test]
fn columns_are_bytes_when_the_client_prefers_utf_8() {
    let (mut client, initialized) =
        Client::start(json!({"general": {"positionEncodings": ["utf-8", "utf-16"]}}));
    assert_eq!(initialized["capabilities"]["positionEncoding"], "utf-8");
    let uri = &document_uri("bytes.factotum");
    let text = "job \"é\"\ntask \"😀\" { run \"x\" after \"😀😀\" }\n";
    let diagnostics = client.open(uri, "factotum", text);
    assert_eq!(diagnostics[0]["code"], "E401", "{diagnostics:?}");
    let start = text
        .lines()
        .nth(1)
        .expect("line 2")
        .find("\"😀😀\"")
        .expect("the dependency");
    let end = start + "\"😀😀\"".len();
    assert_eq!(
        diagnostics[0]["range"],
        json!({"start": {"line": 1, "character": start}, "end": {"line": 1, "character": end}})
    );
    assert_eq!(client.shut_down(), 0);
}

#[test]
fn a_burst_of_changes_ends_in_the_diagnostics_of_the_newest_text() {
    let (mut client, uri) = with_dsl_open();
    let misspelt = DSL.replace("after \"extract 😀 é\"", "after \"extract 😀 e\"");
    // Sent without waiting, as fast typing does; the server may compile only the newest.
    for version in 2..200 {
        let text = if version % 2 == 0 {
            DSL
        } else {
            misspelt.as_str()
        };
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"text": text}]}),
        );
    }
    // Answered only once every change before it has been handled.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": uri}}),
    );
    assert_eq!(symbols[0]["children"].as_array().map(Vec::len), Some(2));
    let published: Vec<&Value> = client
        .pending
        .iter()
        .filter(|message| message["method"] == "textDocument/publishDiagnostics")
        .collect();
    assert!(
        (1..=198).contains(&published.len()),
        "{} publications",
        published.len()
    );
    let newest = &published[published.len() - 1]["params"]["diagnostics"];
    assert_eq!(newest[0]["code"], "E401", "{newest}");
    assert_eq!(newest.as_array().map(Vec::len), Some(1), "{newest}");
    assert_eq!(client.shut_down(), 0);
}

#[test]
fn malformed_requests_get_errors_and_the_server_goes_on() {
    let (mut client, _) = with_dsl_open();
    // JSON-RPC's codes: invalid params, method not found.
    let bad = client.response("textDocument/hover", json!({"position": "here"}));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let unknown = client.response("textDocument/unheardOf", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // A notification with the wrong shape is ignored; a document never opened has no answer.
    client.notify("textDocument/didChange", json!({"contentChanges": 3}));
    let unopened = client.at(
        "textDocument/hover",
        &document_uri("never-opened.factotum"),
        json!({"line": 0, "character": 0}),
        json!({}),
    );
    assert_eq!(unopened, Value::Null);
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": document_uri("non-ascii.factotum")}}),
    );
    assert_eq!(symbols[0]["name"], "nightly");
    assert_eq!(client.shut_down(), 0);
}

#[test]
fn exit_without_shutdown_is_exit_code_1() {
    let (mut client, _) = Client::start(json!({}));
    client.notify("exit", Value::Null);
    assert_eq!(client.exit_code(), 1);
    // And a server whose client goes away ends too.
    let (mut client, _) = Client::start(json!({}));
    client.stdin.take();
    assert_eq!(client.exit_code(), 1);
}

/// The texts a broken editor buffer can hold: every sample and fixture cut short at every 7th
/// byte, pseudo-random bytes, deep nesting and a huge line.
fn hostile_corpus() -> Vec<(&'static str, String)> {
    let mut corpus = Vec::new();
    let mut files = Vec::new();
    for (dir, extension) in [
        ("samples", "factotum"),
        ("samples", "factfile"),
        ("tests/fixtures/dsl", "factotum"),
        ("tests/fixtures/check", "factfile"),
    ] {
        files.extend(
            crate::test::files_with_extension(&manifest_dir().join(dir), extension)
                .into_iter()
                .map(|path| (extension, path)),
        );
    }
    assert!(files.len() > 40, "{} files", files.len());
    let name = |extension: &str| {
        if extension == "factotum" {
            "hostile.factotum"
        } else {
            "hostile.factfile"
        }
    };
    for (extension, path) in files {
        let bytes = std::fs::read(&path).expect("a corpus file");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // Large files (the nesting fixture) are sent whole: their every 7th prefix would make
        // gigabytes of traffic and test nothing the small ones do not.
        if text.len() > 16 * 1024 {
            corpus.push((name(extension), text));
            continue;
        }
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                corpus.push((name(extension), text[..cut].to_owned()));
            }
            cut += 7;
        }
    }
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut random = Vec::with_capacity(8192);
    for _ in 0..8192 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        random.push(state.to_le_bytes()[0]);
    }
    let random = String::from_utf8_lossy(&random).into_owned();
    let printable: String = random
        .bytes()
        .map(|byte| char::from(byte % 95 + 32))
        .collect();
    for name in ["hostile.factotum", "hostile.factfile"] {
        corpus.push((name, random.clone()));
        corpus.push((name, printable.clone()));
        corpus.push((name, "[".repeat(200_000)));
        corpus.push((name, "{\"a\":".repeat(100_000)));
        corpus.push((name, "task \"x\" {".repeat(20_000)));
        corpus.push((name, format!("job \"{}\"", "é😀".repeat(300_000))));
        corpus.push((name, "\r".repeat(50_000) + "\u{feff}\u{202e}\0"));
        corpus.push((name, String::new()));
    }
    corpus
}

#[test]
fn hostile_documents_never_stop_the_server() {
    let (mut client, _) = Client::start(json!({}));
    let corpus = hostile_corpus();
    let mut opened = Vec::new();
    for (version, (name, text)) in corpus.iter().enumerate() {
        let uri = document_uri(name);
        if opened.contains(&uri) {
            client.change(&uri, i64::try_from(version).expect("a version"), text);
        } else {
            client.open(&uri, "factotum", text);
            opened.push(uri.clone());
        }
        // A position in the middle and one far past the end: both are clamped.
        let middle = json!({"line": text.matches('\n').count() / 2, "character": 3});
        let past = json!({"line": 1_000_000, "character": 1_000_000});
        for position in [middle, past] {
            for method in [
                "textDocument/hover",
                "textDocument/completion",
                "textDocument/definition",
                "textDocument/prepareRename",
            ] {
                let response = client.response(
                    method,
                    json!({"textDocument": {"uri": uri}, "position": position}),
                );
                assert!(
                    response.get("error").is_none(),
                    "{method} on {:?}: {response}",
                    excerpt(text)
                );
            }
        }
        for method in ["textDocument/documentSymbol", "textDocument/formatting"] {
            let response = client.response(
                method,
                json!({"textDocument": {"uri": uri},
                       "options": {"tabSize": 4, "insertSpaces": true}}),
            );
            assert!(
                response.get("error").is_none(),
                "{method} on {:?}: {response}",
                excerpt(text)
            );
        }
    }
    // Still answering, and a clean exit.
    let ok = client.open(&document_uri("after.factotum"), "factotum", DSL);
    assert_eq!(ok, Vec::<Value>::new());
    assert_eq!(client.shut_down(), 0);
}

/// The start of `text`, for a failure message.
fn excerpt(text: &str) -> String {
    text.chars().take(200).collect()
}
