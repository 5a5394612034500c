"""IOP Assistant. One folder per layer:

- `domain/`: pure rules (screening, pre-assessment, form answers, check-ins, the safety check);
- `db/`: engine, models, migrations and every query, one module per aggregate;
- `rasa/`: what config.yml, endpoints.yml and credentials.yml name, and our patches to Rasa;
- `notify/`: staff alerts and participants' reminders (transport, messages, worker);
- `apps/`: the staff app, the website and the action server;
- `ops/`: the command line, the supervisor (stack), the nginx front and retention.

`settings.py` and `log.py` are shared by all of them. The rasa_sdk actions are in `actions/`.
"""
