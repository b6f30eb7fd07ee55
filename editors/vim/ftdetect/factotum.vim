" factotum job files (.factotum); see editors/README.md.
autocmd BufNewFile,BufRead *.factotum setfiletype factotum
