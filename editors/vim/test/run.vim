" Headless test of the Vim support, run by .ci/run:
"   vim -Nu NONE -i NONE -n -es -S editors/vim/test/run.vim
" Loads ftdetect, ftplugin and syntax from editors/vim, then checks every assertion of the
" annotated files that test the VS Code grammar (editors/vscode/tests/*.factotum), mapped from
" TextMate scopes to the Vim groups below. Exits 1 with the failures on stdout, 0 otherwise.

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
  call writefile([printf('vim: %d files, every assertion holds', len(s:files))], '/dev/stdout', 'a')
  qall!
endif
call writefile(s:failures, '/dev/stdout', 'a')
cquit!
