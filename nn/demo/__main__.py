"""`python -m nn.demo [--digits | --lenet | --mnist1d | --gpt] [--epochs N] [--steps N]
[--out DIR] [--seed S] [--no-progress]`."""

from nn.demo.moons import main

main()
