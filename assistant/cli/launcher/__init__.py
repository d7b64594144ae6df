"""Set-up and process control behind `tthc up`: build what is missing, start both servers."""
