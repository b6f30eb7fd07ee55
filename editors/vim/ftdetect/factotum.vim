" factotum job files: the language (.factotum, see editors/README.md) and JSON factfiles.
autocmd BufNewFile,BufRead *.factotum setfiletype factotum
autocmd BufNewFile,BufRead *.factfile setfiletype json
