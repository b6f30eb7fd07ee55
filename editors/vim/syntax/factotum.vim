" Vim syntax file
" Language:   factotum job files (.factotum)
" Keep in step with src/syntax/statement.rs: a test checks that both name the same keywords.

if exists('b:current_syntax')
  finish
endif

let s:cpo_save = &cpo
set cpo&vim

" Words that start a job file's top-level items.
syntax keyword factotumDeclaration job task schema constraint
" Words that start and join a task's statements, and the job's `timeout` and `pool … size`.
syntax keyword factotumKeyword after executor run with continue finish on never none
syntax keyword factotumKeyword retry attempts delay backoff max timeout env dir pool size

syntax match factotumComment "#.*$" contains=factotumTodo,@Spell
syntax keyword factotumTodo TODO FIXME XXX NOTE contained

" A string ends on its line; an unclosed one ends there too, as the parser says.
syntax region factotumString start=+"+ skip=+\\\\\|\\"+ end=+"+ end=+$+ oneline
      \ contains=factotumEscape,factotumBadEscape,factotumPlaceholder
syntax match factotumBadEscape +\\.+ contained
syntax match factotumEscape +\\["\\nrt]+ contained
syntax match factotumEscape +\\u{\x\{1,6}}+ contained
syntax match factotumPlaceholder +{{.\{-}}}}\=+ contained

" The name right after `task` is the task's own.
syntax match factotumTaskName +\%(\<task\s\+\)\@<="\%([^"\\]\|\\.\)*"+
      \ contains=factotumEscape,factotumBadEscape,factotumPlaceholder

" Exit codes and counts, and durations: `2s`, `1.5m`, `2h`.
syntax match factotumNumber "\%([[:alnum:]_.-]\)\@<!-\=\d\+\%(\.\d\+\)\=[smh]\=\>"
syntax match factotumDelimiter "[{},]"
syntax match factotumOperator "="

highlight default link factotumDeclaration Structure
highlight default link factotumKeyword Keyword
highlight default link factotumComment Comment
highlight default link factotumTodo Todo
highlight default link factotumString String
highlight default link factotumTaskName Function
highlight default link factotumEscape SpecialChar
highlight default link factotumBadEscape Error
highlight default link factotumPlaceholder Identifier
highlight default link factotumNumber Number
highlight default link factotumDelimiter Delimiter
highlight default link factotumOperator Operator

let b:current_syntax = 'factotum'

let &cpo = s:cpo_save
unlet s:cpo_save
