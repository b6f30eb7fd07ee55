" Vim compiler file
" Compiler:   factotum check (job files: .factotum and .factfile); see editors/README.md.
" `:make` checks the current file (`:make other.factfile` adds more) and fills the quickfix list
" from `check --format short`, one line per problem:
"   FILE:LINE:COLUMN: error[E401]: MESSAGE     or     FILE: error[E001]: MESSAGE
" The columns count characters, as Vim's virtual columns (%v) do except after a tab or a wide
" character; byte columns (%c) would be off after any non-ASCII character. The type is `e` or
" `w` and the number is the code's (E401 gives "error 401"). The summary line is left out.

if exists('current_compiler')
  finish
endif
let current_compiler = 'factotum'

if exists(':CompilerSet') != 2
  command -nargs=* CompilerSet setlocal <args>
endif

let s:cpo_save = &cpo
set cpo&vim

CompilerSet makeprg=factotum\ check\ --format\ short\ $*\ %:S
CompilerSet errorformat=
      \%f:%l:%v:\ %trror[E%n]:\ %m,
      \%f:%l:%v:\ %tarning[W%n]:\ %m,
      \%f:\ %trror[E%n]:\ %m,
      \%f:\ %tarning[W%n]:\ %m,
      \%-G%.%#

let &cpo = s:cpo_save
unlet s:cpo_save
