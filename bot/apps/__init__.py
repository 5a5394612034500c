"""The servers people and Rasa talk to, besides Rasa itself: the staff web app (`staff`), the public
website (`web`) and the action server behind its shared secret (`action_server`)."""
