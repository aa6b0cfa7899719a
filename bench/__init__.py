"""`make bench` (`python -m bench`): dossiers per second end to end, against the machine's own floor (issue 11).

A stack of its own (or the running one) takes an open-loop load of realistic dossiers at increasing rates
(`load`); each dossier's hops are timed from the events' envelopes on the topics (`hops`); the same run measures
the bare floor of the database and the broker, as many round trips per dossier as the pipeline used (`floor`);
the figures are printed, plotted and kept (`report`). docs/performance.md explains the method and the results."""
