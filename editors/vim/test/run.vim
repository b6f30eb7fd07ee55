" Headless test of the Vim support, run by .ci/run:
"   vim -Nu NONE -i NONE -n -es -S editors/vim/test/run.vim
" Loads ftdetect, ftplugin and syntax from editors/vim, then checks every assertion of the
" annotated files that test the VS Code grammar (editors/vscode/tests/*.factotum), mapped from
" TextMate scopes to the Vim groups below, that a .factfile is JSON, and that the compiler
" plugin turns the real output of factotum (target/debug/factotum, built by `cargo test`) on
" broken.factotum into quickfix entries. Exits 1 with the failures on stdout, 0 otherwise.

let s:vim = fnamemodify(expand('<sfile>:p'), ':h:h')
let s:cases = fnamemodify(s:vim, ':h') . '/vscode/tests'
execute 'set runtimepath^=' . fnameescape(s:vim)
filetype plugin on
syntax on

" The Vim group that stands for the most specific scope of an assertion.
let s:groups = [
      \ ['entity.name.function.task', 'factotumTaskName'],
      \ ['storage.type', 'factotumDeclaration'],
      \ ['keyword.other', 'factotumKeyword'],
      \ ['comment.line', 'factotumComment'],
      \ ['punctuation.definition.comment', 'factotumComment'],
      \ ['constant.character.escape', 'factotumEscape'],
      \ ['invalid.illegal.escape', 'factotumBadEscape'],
      \ ['variable.other.placeholder', 'factotumPlaceholder'],
      \ ['constant.numeric', 'factotumNumber'],
      \ ['punctuation.definition.string', 'factotumString'],
      \ ['string.quoted.double', 'factotumString'],
      \ ['punctuation.section.block', 'factotumDelimiter'],
      \ ['punctuation.separator', 'factotumDelimiter'],
      \ ['keyword.operator', 'factotumOperator'],
      \ ]

function! s:Group(scope) abort
  for [l:prefix, l:group] in s:groups
    if stridx(a:scope, l:prefix) == 0
      return l:group
    endif
  endfor
  return ''
endfunction

" The groups that may stand where `scope` is asserted: a task name is a string too.
function! s:Accepted(scope) abort
  let l:group = s:Group(a:scope)
  return l:group ==# 'factotumString' ? ['factotumString', 'factotumTaskName'] : [l:group]
endfunction

let s:failures = []

function! s:Check(file) abort
  execute 'silent edit! ' . fnameescape(a:file)
  if &filetype !=# 'factotum'
    call add(s:failures, a:file . ': filetype is "' . &filetype . '"')
    return
  endif
  let l:source = 0
  for l:number in range(1, line('$'))
    let l:text = getline(l:number)
    let l:parts = matchlist(l:text, '^#\(\s*\)\(\^\+\|<-\+\)\s\+\(.*\)$')
    if empty(l:parts)
      let l:source = l:number
      continue
    endif
    if l:parts[2][0] ==# '<'
      let [l:first, l:width] = [1, len(l:parts[2]) - 1]
    else
      let [l:first, l:width] = [len(l:parts[1]) + 2, len(l:parts[2])]
    endif
    let l:negated = l:parts[3] =~# '^-\s'
    let l:scope = split(substitute(l:parts[3], '^-\s\+', '', ''))[-1]
    let l:accepted = s:Accepted(l:scope)
    for l:column in range(l:first, l:first + l:width - 1)
      let l:found = synIDattr(synID(l:source, l:column, 1), 'name')
      if (index(l:accepted, l:found) >= 0) == l:negated
        call add(s:failures, printf('%s:%d:%d: %s%s, found "%s"', fnamemodify(a:file, ':t'),
              \ l:source, l:column, l:negated ? 'not ' : '', l:accepted[0], l:found))
        break
      endif
    endfor
  endfor
endfunction

" A .factfile is JSON to Vim.
let s:root = fnamemodify(s:vim, ':h:h')
execute 'silent edit! ' . fnameescape(s:root . '/samples/stock-report.factfile')
if &filetype !=# 'json'
  call add(s:failures, 'stock-report.factfile: filetype is "' . &filetype . '", not "json"')
endif

" The compiler plugin: `:make` on a broken file runs the real `factotum check --format short`
" and fills the quickfix list. Each entry must have the problem's type and code number and put
" the cursor on the word the problem is about (which proves its line and column).
let s:binaries = (empty($CARGO_TARGET_DIR) ? s:root . '/target' : $CARGO_TARGET_DIR) . '/debug'
" [type, code number, line, the text at the column]
let s:expected = [
      \ ['E', 401, 5, '"nowhere"'],
      \ ['W', 401, 8, '"bash"'],
      \ ]
function! s:CheckQuickfix() abort
  if !executable(s:binaries . '/factotum')
    call add(s:failures, s:binaries . '/factotum is missing: build it first (`cargo build`; .ci/run'
          \ . ' runs `cargo test` before this test)')
    return
  endif
  let $PATH = s:binaries . ':' . $PATH
  let l:broken = s:vim . '/test/broken.factotum'
  execute 'silent edit! ' . fnameescape(l:broken)
  if get(b:, 'current_compiler', '') !=# 'factotum'
    call add(s:failures, 'broken.factotum: the ftplugin did not set the factotum compiler')
    return
  endif
  " Into the error file only, not through `tee` onto this script's standard output.
  let &shellpipe = '>%s 2>&1'
  silent make!
  let l:found = map(getqflist(),
        \ '[v:val.valid ? toupper(v:val.type) : "invalid", v:val.nr, v:val.lnum]')
  if l:found != map(deepcopy(s:expected), 'v:val[0:2]')
    call add(s:failures, 'quickfix of broken.factotum: ' . string(getqflist()))
    return
  endif
  for l:index in range(len(s:expected))
    let l:text = s:expected[l:index][3]
    execute 'silent cc ' . (l:index + 1)
    let l:at = strpart(getline('.'), col('.') - 1, len(l:text))
    if bufname('%') !=# bufname(l:broken) || l:at !=# l:text
      call add(s:failures, printf('quickfix entry %d goes to %s:%d:%d ("%s"), not to %s',
            \ l:index + 1, bufname('%'), line('.'), col('.'), l:at, l:text))
    endif
  endfor
endfunction
call s:CheckQuickfix()

let s:files = glob(s:cases . '/*.factotum', 0, 1)
if empty(s:files)
  call add(s:failures, 'no test cases in ' . s:cases)
endif
for s:file in s:files
  call s:Check(s:file)
endfor
if !empty(v:errmsg)
  call add(s:failures, 'Vim reported: ' . v:errmsg)
endif

" Silent Ex mode shows no messages, so the verdict goes straight to standard output.
if empty(s:failures)
  call writefile([printf('vim: %d files, every assertion holds; quickfix entries as expected',
        \ len(s:files))], '/dev/stdout', 'a')
  qall!
endif
call writefile(s:failures, '/dev/stdout', 'a')
cquit!
