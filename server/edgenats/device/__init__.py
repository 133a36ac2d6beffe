"""Device tooling: put MicroPython, the unats client and the device app onto microcontrollers.

`edgenats device provision` compiles and copies the app with mpremote; `edgenats device flash` writes a
MicroPython image with esptool or explains the UF2 copy. Board profiles live in firmware/boards/.
"""
