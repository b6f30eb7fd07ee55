" factotum job files: comments start with #, blocks are indented by four spaces.
if exists('b:did_ftplugin')
  finish
endif
let b:did_ftplugin = 1

setlocal commentstring=#\ %s comments=:#
setlocal expandtab shiftwidth=4 softtabstop=4
setlocal formatoptions-=t formatoptions+=croql
" `:make` runs `factotum check` on the file (compiler/factotum.vim).
compiler factotum

let b:undo_ftplugin = 'setlocal commentstring< comments< expandtab< shiftwidth< softtabstop< formatoptions<'
let b:undo_ftplugin .= ' makeprg< errorformat< | unlet! b:current_compiler'
