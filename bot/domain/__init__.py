"""Pure rules of the product: triage and level of care, the pre-assessment's questions, form
answer readers, check-in rules, how a reply to the safety question is read, and the calm replies
built in code. No Rasa, no database, no network: each is table-tested on its own."""
