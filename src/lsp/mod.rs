//! `factotum lsp`: the compiler behind the Language Server Protocol, over standard input and
//! output.
//!
//! One thread answers every message in order. Each open document is compiled whole on every
//! change (full synchronisation: a 1,000-task job compiles in a few milliseconds; of changes
//! already waiting, only the newest), from the unsaved text, with the front end its file name picks, exactly as `factotum check FILE` would;
//! every request is then answered from that one compilation. Nothing here may panic on any
//! text: positions are clamped to the document, and a request about a place with nothing to say
//! gets an empty answer.

mod diagnostics;
mod editing;
mod navigation;
mod position;

use std::collections::HashMap;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Exit, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _, Shutdown,
};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionProviderCapability, CompletionOptions,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    InitializeParams, InitializeResult, OneOf, Position, PublishDiagnosticsParams, Range,
    RenameOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability,
    TextDocumentSyncKind, Uri,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::position::{Encoding, LineIndex};
use crate::source::Source;
use crate::span::Span;
use crate::syntax::Format;
use crate::{Compiled, ExitStatus};

/// Serves one client on standard input and output until it says `exit` or goes away. The exit
/// status is the protocol's: 0 after a `shutdown` request, 1 without one (or when the client
/// broke the protocol).
pub(crate) fn serve() -> ExitStatus {
    let (connection, io_threads) = Connection::stdio();
    let status = match initialize(&connection) {
        Some(encoding) => Server {
            connection: &connection,
            encoding,
            documents: HashMap::new(),
            shut_down: false,
            read_ahead: None,
        }
        .run(),
        None => ExitStatus::Invalid,
    };
    // The writer thread ends once every sender has gone; the reader once stdin has ended or
    // `exit` was read.
    drop(connection);
    match io_threads.join() {
        Ok(()) => status,
        Err(_) => ExitStatus::Invalid,
    }
}

/// The `initialize` exchange: the client's capabilities in, ours out. `None` when the client
/// went away or sent something else first.
fn initialize(connection: &Connection) -> Option<Encoding> {
    let (id, params) = connection.initialize_start().ok()?;
    let params: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let encoding = Encoding::negotiate(
        params
            .capabilities
            .general
            .as_ref()
            .and_then(|general| general.position_encodings.as_deref()),
    );
    let result = InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(ServerInfo {
            name: "factotum".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
    };
    let result = serde_json::to_value(result).ok()?;
    connection.initialize_finish(id, result).ok()?;
    Some(encoding)
}

/// What the server answers.
fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["\"".to_owned()]),
            ..CompletionOptions::default()
        }),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: lsp_types::WorkDoneProgressOptions::default(),
        })),
        document_formatting_provider: Some(OneOf::Left(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

/// An open document and what the compiler made of it.
pub(crate) struct Document {
    pub(crate) uri: Uri,
    /// The unsaved text, named by the document's path so the right front end reads it.
    pub(crate) source: Source,
    pub(crate) format: Format,
    pub(crate) compiled: Compiled,
    lines: LineIndex,
    /// The task names of the latest version that had a job: completion still offers them
    /// while the text being typed is broken.
    pub(crate) known_names: Vec<String>,
}

impl Document {
    /// Compiles `text`; `previous` is the version it replaces.
    fn new(uri: Uri, text: String, encoding: Encoding, previous: Option<&Self>) -> Self {
        let source = Source::new(source_name(&uri), text);
        let compiled = crate::compile(&source, None);
        let known_names = match &compiled.job {
            Some(job) => job
                .tasks
                .iter()
                .map(|task| task.name.text.to_string())
                .collect(),
            None => previous
                .map(|document| document.known_names.clone())
                .unwrap_or_default(),
        };
        Self {
            lines: LineIndex::new(&source.text, encoding),
            format: Format::of(&source),
            uri,
            source,
            compiled,
            known_names,
        }
    }

    /// The text.
    pub(crate) fn text(&self) -> &str {
        &self.source.text
    }

    /// The range of `span`.
    pub(crate) fn range(&self, span: Span) -> Range {
        self.lines.range(&self.source.text, span)
    }

    /// The byte offset of `position`, clamped to the text.
    pub(crate) fn offset(&self, position: Position) -> usize {
        self.lines.offset(&self.source.text, position)
    }

    /// The span of `range`, clamped to the text.
    pub(crate) fn span(&self, range: Range) -> Span {
        let start = self.offset(range.start);
        Span::new(start, self.offset(range.end).max(start))
    }
}

/// The name `check` would be given for the document: its path for a `file:` URI (so a
/// `.factotum` file is read as the DSL and a `.factfile` or `.json` one as JSON), the whole URI
/// for others (an unsaved `untitled:` document is then told apart by its content).
fn source_name(uri: &Uri) -> String {
    let is_file = uri
        .scheme()
        .is_some_and(|scheme| scheme.as_str().eq_ignore_ascii_case("file"));
    if is_file {
        percent_decoded(uri.path().as_str())
    } else {
        uri.as_str().to_owned()
    }
}

/// `text` with its `%XX` escapes decoded; anything that is not an escape is kept.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let escaped = (bytes[at] == b'%')
            .then(|| bytes.get(at + 1..at + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(byte) = escaped {
            decoded.push(byte);
            at += 3;
        } else {
            decoded.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The server's state between messages.
struct Server<'c> {
    connection: &'c Connection,
    encoding: Encoding,
    documents: HashMap<Uri, Document>,
    /// Whether `shutdown` has been answered: only `exit` may follow.
    shut_down: bool,
    /// A message read while looking for more changes of a document, to be handled next.
    read_ahead: Option<Message>,
}

/// Why the main loop stopped.
enum Stop {
    /// The client said `exit`.
    Exit,
    /// The client or its connection went away.
    Gone,
}

impl Server<'_> {
    /// Answers messages until `exit`, or until the client has gone.
    fn run(mut self) -> ExitStatus {
        while let Some(message) = self
            .read_ahead
            .take()
            .or_else(|| self.connection.receiver.recv().ok())
        {
            let handled = match message {
                Message::Request(request) => self.request(request),
                Message::Notification(notification) => self.notification(notification),
                // We send no requests, so there are no responses to read.
                Message::Response(_) => Ok(()),
            };
            match handled {
                Ok(()) => {}
                Err(Stop::Exit) if self.shut_down => return ExitStatus::Success,
                Err(Stop::Exit | Stop::Gone) => return ExitStatus::Invalid,
            }
        }
        ExitStatus::Invalid
    }

    fn send(&self, message: impl Into<Message>) -> Result<(), Stop> {
        self.connection
            .sender
            .send(message.into())
            .map_err(|_| Stop::Gone)
    }

    fn request(&mut self, request: Request) -> Result<(), Stop> {
        let Request { id, method, params } = request;
        if self.shut_down {
            let message = "the server has shut down: only `exit` may follow".to_owned();
            return self.send(Response::new_err(
                id,
                ErrorCode::InvalidRequest as i32,
                message,
            ));
        }
        let response = match method.as_str() {
            Shutdown::METHOD => {
                self.shut_down = true;
                Response {
                    id,
                    response_result: Ok(serde_json::Value::Null),
                }
            }
            GotoDefinition::METHOD => self.answer(id, params, navigation::definition),
            References::METHOD => self.answer(id, params, navigation::references),
            HoverRequest::METHOD => self.answer(id, params, navigation::hover),
            DocumentSymbolRequest::METHOD => self.answer(id, params, navigation::symbols),
            Completion::METHOD => self.answer(id, params, editing::completion),
            PrepareRenameRequest::METHOD => self.answer(id, params, editing::prepare_rename),
            Rename::METHOD => self.answer(id, params, editing::rename),
            Formatting::METHOD => self.answer(id, params, editing::formatting),
            CodeActionRequest::METHOD => self.answer(id, params, editing::code_actions),
            _ => Response::new_err(
                id,
                ErrorCode::MethodNotFound as i32,
                format!("`{method}` is not served"),
            ),
        };
        self.send(response)
    }

    /// The response to a request about one document: `handler`'s answer, `null` for a
    /// document that is not open.
    fn answer<P, R>(
        &self,
        id: RequestId,
        params: serde_json::Value,
        handler: fn(&Document, &P) -> Option<R>,
    ) -> Response
    where
        P: DeserializeOwned + AboutDocument,
        R: Serialize,
    {
        let params: P = match serde_json::from_value(params) {
            Ok(params) => params,
            Err(error) => {
                let message = format!("invalid parameters: {error}");
                return Response::new_err(id, ErrorCode::InvalidParams as i32, message);
            }
        };
        let answer = self
            .documents
            .get(params.uri())
            .and_then(|document| handler(document, &params));
        match serde_json::to_value(answer) {
            Ok(value) => Response {
                id,
                response_result: Ok(value),
            },
            Err(error) => Response::new_err(id, ErrorCode::InternalError as i32, error.to_string()),
        }
    }

    fn notification(&mut self, notification: Notification) -> Result<(), Stop> {
        let Notification { method, params } = notification;
        match method.as_str() {
            Exit::METHOD => Err(Stop::Exit),
            DidOpenTextDocument::METHOD => match parsed::<DidOpenTextDocumentParams>(params) {
                Some(params) => {
                    let item = params.text_document;
                    self.update(item.uri, item.text)
                }
                None => Ok(()),
            },
            DidChangeTextDocument::METHOD => match new_text(params) {
                Some((uri, text)) => {
                    let text = self.newest_text(&uri, text);
                    self.update(uri, text)
                }
                None => Ok(()),
            },
            DidCloseTextDocument::METHOD => match parsed::<DidCloseTextDocumentParams>(params) {
                Some(params) => {
                    let uri = params.text_document.uri;
                    self.documents.remove(&uri);
                    self.publish(uri, Vec::new())
                }
                None => Ok(()),
            },
            // Notifications a server may ignore: `initialized`, `$/cancelRequest` (every
            // request is answered before the next is read), `didSave`, settings.
            _ => Ok(()),
        }
    }

    /// `text`, or the text of the last of the changes of `uri` that are already waiting: a
    /// client that sends changes faster than a big document compiles gets the diagnostics of
    /// what it has now, not of every keystroke in turn. Reading stops at any other message,
    /// which is handled next.
    fn newest_text(&mut self, uri: &Uri, mut text: String) -> String {
        while let Ok(message) = self.connection.receiver.try_recv() {
            match message {
                Message::Notification(notification) if is_change_of(&notification, uri) => {
                    // A malformed change is ignored here as it would be on its own.
                    if let Some((_, newer)) = new_text(notification.params) {
                        text = newer;
                    }
                }
                other => {
                    self.read_ahead = Some(other);
                    break;
                }
            }
        }
        text
    }

    /// Compiles the new text of `uri` and publishes its diagnostics.
    fn update(&mut self, uri: Uri, text: String) -> Result<(), Stop> {
        let previous = self.documents.remove(&uri);
        let document = Document::new(uri.clone(), text, self.encoding, previous.as_ref());
        let diagnostics = diagnostics::of(&document);
        self.documents.insert(uri.clone(), document);
        let published = self.publish(uri, diagnostics);
        // Freeing the old version's job takes a few milliseconds on a big job: after the
        // answer, not before it.
        drop(previous);
        published
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>) -> Result<(), Stop> {
        let params = PublishDiagnosticsParams {
            uri,
            diagnostics,
            version: None,
        };
        self.send(Notification::new(
            PublishDiagnostics::METHOD.to_owned(),
            params,
        ))
    }
}

/// Whether `notification` is a `didChange` of `uri` (compared as sent, before the text is
/// parsed).
fn is_change_of(notification: &Notification, uri: &Uri) -> bool {
    notification.method == DidChangeTextDocument::METHOD
        && notification
            .params
            .pointer("/textDocument/uri")
            .and_then(serde_json::Value::as_str)
            == Some(uri.as_str())
}

/// The document and its whole new text, from a `didChange`'s parameters (full
/// synchronisation: the last change is the whole text).
fn new_text(params: serde_json::Value) -> Option<(Uri, String)> {
    let mut params: DidChangeTextDocumentParams = parsed(params)?;
    let change = params.content_changes.pop()?;
    Some((params.text_document.uri, change.text))
}

/// A notification's parameters, `None` when they do not have the protocol's shape (ignored, as
/// a notification cannot be answered).
fn parsed<P: DeserializeOwned>(params: serde_json::Value) -> Option<P> {
    serde_json::from_value(params).ok()
}

/// The parameters of a request about one document.
trait AboutDocument {
    fn uri(&self) -> &Uri;
}

macro_rules! about_document {
    ($($params:ty => |$p:ident| $uri:expr;)+) => {
        $(impl AboutDocument for $params {
            fn uri(&self) -> &Uri {
                let $p = self;
                $uri
            }
        })+
    };
}

about_document! {
    lsp_types::GotoDefinitionParams => |p| &p.text_document_position_params.text_document.uri;
    lsp_types::ReferenceParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::HoverParams => |p| &p.text_document_position_params.text_document.uri;
    lsp_types::DocumentSymbolParams => |p| &p.text_document.uri;
    lsp_types::CompletionParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::TextDocumentPositionParams => |p| &p.text_document.uri;
    lsp_types::RenameParams => |p| &p.text_document_position.text_document.uri;
    lsp_types::DocumentFormattingParams => |p| &p.text_document.uri;
    lsp_types::CodeActionParams => |p| &p.text_document.uri;
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_uris_name_the_decoded_path() {
        let uri: lsp_types::Uri = "file:///tmp/caf%C3%A9%20x.factotum".parse().unwrap();
        assert_eq!(super::source_name(&uri), "/tmp/café x.factotum");
        let uri: lsp_types::Uri = "untitled:Untitled-1".parse().unwrap();
        assert_eq!(super::source_name(&uri), "untitled:Untitled-1");
        assert_eq!(super::percent_decoded("%zz%4"), "%zz%4");
    }
}
