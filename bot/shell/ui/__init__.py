"""Every persistent button and form id of Brew Host, in one folder.

* :mod:`.ids`: the ``bh:*`` custom-id protocol (templates, builders, tests on an id).
* :mod:`.base`: what all persistent buttons share.
* :mod:`.room`, :mod:`.signup`, :mod:`.reflect`: the buttons, by where they are posted, and the
  views that carry them.
* :mod:`.registry`: the one list of dynamic items the bot registers at start-up.

This file imports nothing, so importing :mod:`.ids` stays cheap and cycle-free.
"""
