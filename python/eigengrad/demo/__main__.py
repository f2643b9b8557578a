"""``python -m eigengrad.demo``: the digits demo."""

from eigengrad.demo.digits import main

if __name__ == "__main__":
    main()
