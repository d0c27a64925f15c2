"""`python -m nn.demo [--digits] [--epochs N] [--out DIR] [--seed S] [--no-progress]`."""

from nn.demo.moons import main

main()
