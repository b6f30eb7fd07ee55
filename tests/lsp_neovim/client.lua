-- Run by tests/lsp_neovim.rs in a headless Neovim: Neovim's own LSP client starts
-- `$FACTOTUM_BIN lsp`, opens every file of the argument list, and this script writes what
-- Neovim received to `$FACTOTUM_NVIM_REPORT` as JSON, for the test to judge: for each file the
-- diagnostics as the server sent them (ranges in UTF-16) and as Neovim placed them in the
-- buffer (byte columns, with the text they cover), the code actions offered at the first
-- diagnostic, and, once the preferred quick fix is applied, the buffer and its diagnostics.
-- Only Neovim 0.7's API is used (Debian's package): `vim.lsp.start` came later. Every wait is
-- bounded; a step that fails or times out is written in the report as `error`.

local server = assert(os.getenv('FACTOTUM_BIN'), 'FACTOTUM_BIN names the factotum binary')
local report_path = assert(os.getenv('FACTOTUM_NVIM_REPORT'), 'FACTOTUM_NVIM_REPORT names the report')
local patience_ms = 20000
local report = { files = {} }
-- The server's exit code, once it has exited.
local exit_code

-- The diagnostics each URI received last, as the server sent them.
local received = {}
local publish_diagnostics = vim.lsp.handlers['textDocument/publishDiagnostics']
vim.lsp.handlers['textDocument/publishDiagnostics'] = function(err, result, ctx, config)
  received[result.uri] = result.diagnostics
  return publish_diagnostics(err, result, ctx, config)
end

-- Waits for `condition`, and fails at once when the server has exited before it holds.
local function wait_for(what, condition)
  local held = vim.wait(patience_ms, function()
    return condition() or exit_code ~= nil
  end, 20)
  if not condition() then
    error(held and string.format('no %s: the server exited with code %d', what, exit_code)
      or string.format('no %s within %d ms', what, patience_ms))
  end
end

local function sent_as(diagnostic)
  return {
    code = diagnostic.code,
    source = diagnostic.source,
    severity = diagnostic.severity,
    message = diagnostic.message,
    range = diagnostic.range,
  }
end

-- Neovim's own view of the buffer's diagnostics: 0-based lines and byte columns, and the text
-- between them (single-line ranges are all this test makes).
local function placed_in(bufnr)
  local placed = {}
  for _, diagnostic in ipairs(vim.diagnostic.get(bufnr)) do
    local line = vim.api.nvim_buf_get_lines(bufnr, diagnostic.lnum, diagnostic.lnum + 1, false)[1] or ''
    table.insert(placed, {
      lnum = diagnostic.lnum,
      col = diagnostic.col,
      end_lnum = diagnostic.end_lnum,
      end_col = diagnostic.end_col,
      text = line:sub(diagnostic.col + 1, diagnostic.end_col),
    })
  end
  return placed
end

local function described(action)
  local linked = {}
  for _, diagnostic in ipairs(action.diagnostics or {}) do
    table.insert(linked, diagnostic.code)
  end
  return {
    title = action.title,
    kind = action.kind,
    is_preferred = action.isPreferred == true,
    has_edit = action.edit ~= nil,
    linked_codes = linked,
  }
end

local function check_file(client, path)
  local result = { path = path }
  report.files[vim.fn.fnamemodify(path, ':t')] = result
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  result.filetype = vim.bo[bufnr].filetype
  if not vim.lsp.buf_attach_client(bufnr, client.id) then
    error('the client does not attach to ' .. path)
  end

  wait_for('diagnostics for ' .. path, function()
    return received[uri] ~= nil
  end)
  result.sent = vim.tbl_map(sent_as, received[uri])
  result.placed = placed_in(bufnr)
  local first = received[uri][1]
  if first == nil then
    return
  end

  local responses, request_error = vim.lsp.buf_request_sync(bufnr, 'textDocument/codeAction', {
    textDocument = { uri = uri },
    range = first.range,
    context = { diagnostics = { first } },
  }, patience_ms)
  if responses == nil then
    error('textDocument/codeAction: ' .. tostring(request_error))
  end
  local response = responses[client.id] or {}
  if response.error ~= nil then
    error('textDocument/codeAction: ' .. vim.inspect(response.error))
  end
  result.actions = vim.tbl_map(described, response.result or {})
  local fix
  for _, action in ipairs(response.result or {}) do
    if action.kind == 'quickfix' and action.isPreferred and action.edit ~= nil then
      fix = action
      break
    end
  end
  if fix == nil then
    return
  end

  -- The edit changes the buffer, which Neovim sends as a didChange; the server answers with
  -- the document's new diagnostics. Waiting for an empty set is bounded: when it never comes,
  -- the report holds the last set received and the test fails on it.
  received[uri] = nil
  vim.lsp.util.apply_workspace_edit(fix.edit, client.offset_encoding)
  result.applied = fix.title
  vim.wait(patience_ms, function()
    return (received[uri] ~= nil and #received[uri] == 0) or exit_code ~= nil
  end, 20)
  result.text_after = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
  result.sent_after = vim.tbl_map(sent_as, received[uri] or {})
  result.placed_after = placed_in(bufnr)
end

local function run()
  local client_id = vim.lsp.start_client({
    name = 'factotum',
    cmd = { server, 'lsp' },
    root_dir = vim.fn.getcwd(),
    on_exit = function(code)
      exit_code = code
    end,
  })
  if client_id == nil then
    error('vim.lsp.start_client could not start ' .. server)
  end
  local client = vim.lsp.get_client_by_id(client_id)
  for _, path in ipairs(vim.fn.argv()) do
    check_file(client, vim.fn.fnamemodify(path, ':p'))
  end
  report.offset_encoding = client.offset_encoding
  -- Not forced: Neovim sends shutdown, then exit once the server has answered.
  vim.lsp.stop_client(client_id)
  vim.wait(patience_ms, function()
    return exit_code ~= nil
  end, 20)
  report.exit_code = exit_code
end

local ok, failure = pcall(run)
if not ok then
  report.error = tostring(failure)
end
vim.fn.writefile({ vim.fn.json_encode(report) }, report_path)
vim.cmd(ok and 'qall!' or 'cquit! 1')
