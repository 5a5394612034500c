"""The spaCy crisis rule layer: catches crisis language, ignores figures of speech."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
import yaml
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import SPACY_DOCS
from rasa.shared.nlu.training_data.message import Message

from bot.rasa.nlu import load_spacy
from bot.rasa.nlu.crisis_matcher import CrisisMatcher, CrisisRules, load_rules
from bot.settings import REPO_ROOT

nlp = load_spacy  # the spaCy model as Rasa's SpacyNLP loads it


CRISIS = [
    ("i want to kill myself", "suicidal"),
    ("I'm going to KMS tonight", "suicidal"),
    ("i dont wanna live anymore", "suicidal"),
    ("I don't want to be alive", "suicidal"),
    ("thinking about ending it all", "suicidal"),
    ("i have a plan to end it", "suicidal"),
    ("everyone would be better off without me", "suicidal"),
    ("I've been feeling suicidal", "suicidal"),
    ("i feel sucidal", "suicidal"),
    ("i want to die", "suicidal"),
    ("i just wanna die", "suicidal"),
    ("I wrote goodbye letters to my kids", "suicidal"),
    ("i'm going to jump off the bridge", "suicidal"),
    ("I started cutting myself again", "self_harm"),
    ("i burned myself on purpose", "self_harm"),
    ("my friend is od'ing", "overdose"),
    ("I think he OD'd", "overdose"),
    ("she's overdosing right now", "overdose"),
    ("i took a whole bottle of pills", "overdose"),
    ("my brother isn't breathing", "overdose"),
    ("he won't wake up and his lips are blue", "overdose"),
    ("I'm going to hurt him", "harm_others"),
    ("i want to kill my roommate", "harm_others"),
    ("my boyfriend hits me and I'm scared to go home", "domestic_violence"),
    ("he choked me last night", "domestic_violence"),
    ("I stopped drinking and now I'm having a seizure", "withdrawal"),
    ("i keep seeing things that aren't there since i quit", "withdrawal"),
    ("im hallucinating bad since i stopped drinking", "withdrawal"),
    ("he is beating me again", "domestic_violence"),
    ("i'm going to poison him", "harm_others"),
    ("my roommate is barely breathing", "overdose"),
    ("she was choking me until I almost passed out", "domestic_violence"),
    ("i'm hiding from him in the closet", "domestic_violence"),
    ("I'm going to make him bleed", "harm_others"),
    ("since i quit drinking my heart is racing and i'm shaking uncontrollably", "withdrawal"),
    ("i won't be around much longer", "suicidal"),
    ("really bad chest pain since I stopped the pills", "withdrawal"),
    # suicidal: someone else, ending it, not wanting to exist, wanting it over, knowing how
    ("my sister said she's going to kill herself", "suicidal"),
    ("she is going to end her life", "suicidal"),
    ("i decided to end things", "suicidal"),
    ("i'm ending it tonight", "suicidal"),
    ("i dont wanna b alive", "suicidal"),
    ("i don't want to exist anymore", "suicidal"),
    ("i'm done with life", "suicidal"),
    ("i want it all to be over", "suicidal"),
    ("i just want everything to stop forever", "suicidal"),
    ("i already know how i'd do it", "suicidal"),
    ("i've been researching ways to die", "suicidal"),
    ("i want to sleep forever", "suicidal"),
    ("i left a goodbye note on the table", "suicidal"),
    ("my girlfriend texted me goodbye", "suicidal"),
    ("i'm going to take all my pills tonight", "suicidal"),
    ("i took all my pills so i never wake up", "suicidal"),
    ("is the parking garage high enough to jump from", "suicidal"),
    ("i'm in the garage and the car is running", "suicidal"),
    ("i'd rather be dead", "suicidal"),
    ("i feel like dying", "suicidal"),
    ("i wanna disappear forever", "suicidal"),
    ("i'm not going to be alive much longer", "suicidal"),
    ("goodbye forever", "suicidal"),
    ("i'm gonna off myself", "suicidal"),
    ("sucidal tonight", "suicidal"),
    ("i want to jump in front of a train", "suicidal"),
    ("i'm going to overdose on purpose", "suicidal"),
    ("i'm going to slit my wrists", "self_harm"),
    ("i hit myself until i bruise", "self_harm"),
    ("i just took a bottle of pills", "overdose"),
    ("my son is threatening to kill us", "harm_others"),
    ("help he's trying to break in", "domestic_violence"),
    ("i'm shaking and seeing things since i quit drinking", "withdrawal"),
    ("i'm sitting on the ledge", "suicidal"),
    ("ive been saving up my meds for when im ready", "suicidal"),
    ("honestly i don't think i'll be here tomorrow", "suicidal"),
    ("i'm checking out tonight", "suicidal"),
    ("i want to kil myself", "suicidal"),
    ("she keeps posting about wanting to die", "suicidal"),
    ("i cant stop thinking about dying", "suicidal"),
    ("wish i could just not exist", "suicidal"),
    ("everyone would be happier if i was dead", "suicidal"),
    ("im cuttin again", "self_harm"),
    ("i punched a mirror on purpose", "self_harm"),
    ("just took a razor to my arm", "self_harm"),
    ("she showed me fresh cuts", "self_harm"),
    ("his eyes are rolling back", "overdose"),
    ("she's passed out in her room with a syringe", "overdose"),
    ("i found her passed out in the bathroom", "overdose"),
    ("i've taken way more than my prescription says", "overdose"),
    ("i have the urge to kill someone", "harm_others"),
    ("i could seriously murder my roommate tonight", "harm_others"),
    ("i know where they live", "harm_others"),
    ("he's hurting me and i can't leave", "domestic_violence"),
    ("my ex said he'll hurt me", "domestic_violence"),
    ("i'm hiding from my husband", "domestic_violence"),
    ("two days without a drink and i keep seeing things", "withdrawal"),
    # self_harm: someone else, cutting just now, the urge, bleeding, the blade at hand
    ("my son has been cutting himself for weeks", "self_harm"),
    ("i cut again", "self_harm"),
    ("she cut too deep this time", "self_harm"),
    ("im cutting rn", "self_harm"),
    ("the urge to cut is unbearable", "self_harm"),
    ("my arm won't stop bleeding", "self_harm"),
    ("i relapsed on self harm", "self_harm"),
    ("i keep banging my head against the wall", "self_harm"),
    ("i have the razor out", "self_harm"),
    ("there's blood everywhere", "self_harm"),
    # overdose: can't wake, not responding, blue, too much, handfuls, collapsed
    ("i can't wake him up", "overdose"),
    ("my friend isn't waking up after taking pills", "overdose"),
    ("she's not responding at all", "overdose"),
    ("her lips look purple", "overdose"),
    ("i took way too many xanax", "overdose"),
    ("i took 30 of my sleeping pills", "overdose"),
    ("i swallowed the whole bottle", "overdose"),
    ("my brother just collapsed after using", "overdose"),
    ("he shot up and collapsed", "overdose"),
    ("i relapsed and used way more than i used to", "overdose"),
    # harm_others: meaning to harm a person, whoever it is
    ("i'm going to kill my stepdad", "harm_others"),
    ("gonna stab my coworker", "harm_others"),
    ("i'm going to kill that guy", "harm_others"),
    ("i keep thinking about hurting my kids", "harm_others"),
    ("i'm going to beat him up", "harm_others"),
    # weapon at hand
    ("my husband has a gun and is drunk", "weapon"),
    ("he's waiting outside with a bat", "weapon"),
    ("he loaded his rifle", "weapon"),
    ("my roommate is threatening everyone with a knife", "weapon"),
    # domestic_violence: thrown, threatened, hiding, locked in
    ("he threw me against the wall", "domestic_violence"),
    ("he's going to kill me", "domestic_violence"),
    ("she said she'll kill me if i leave", "domestic_violence"),
    ("i'm hiding in the closet", "domestic_violence"),
    ("i'm locked in the bathroom", "domestic_violence"),
    ("he's banging on the door", "domestic_violence"),
    # withdrawal: a seizure coming, seeing what isn't there, chest, confusion
    ("i feel like i'm about to have a seizure", "withdrawal"),
    ("i quit drinking and i'm having convulsions", "withdrawal"),
    ("i'm seeing people who aren't there", "withdrawal"),
    ("i keep seeing bugs on the walls", "withdrawal"),
    ("my chest hurts so bad since i quit", "withdrawal"),
    ("he doesn't know where he is", "withdrawal"),
    # suicidal warning signs (988 / Columbia): a burden, nobody would miss me, no way out,
    # goodbyes, giving things away, made my peace, a plan and a date, a will, a note
    ("nobody would even miss me if i was gone", "suicidal"),
    ("i'm such a burden to my family", "suicidal"),
    ("i feel trapped, there's no way out", "suicidal"),
    ("there's no way out but dying", "suicidal"),
    ("i gave away all my stuff this week", "suicidal"),
    ("i've made my peace with everything", "suicidal"),
    ("i have a plan and a date", "suicidal"),
    ("picked a date and wrote my will", "suicidal"),
    ("saying goodbye to everyone tonight", "suicidal"),
    ("this is goodbye", "suicidal"),
    ("he left a note saying he's sorry and his car is gone", "suicidal"),
    ("i want to go to sleep and not wake up", "suicidal"),
    ("i just want to stop existing", "suicidal"),
    ("i'm so tired of living", "suicidal"),
    ("i cant go on living", "suicidal"),
    ("theres no point anymore", "suicidal"),
    ("i wont be here tmrw", "suicidal"),
    ("gonna do it tonight", "suicidal"),
    # suicidal: methods and means, casual spellings
    ("i tied a noose in the garage", "suicidal"),
    ("there's a rope in my closet", "suicidal"),
    ("heading to the overpass now", "suicidal"),
    ("gonna jump off the parking garage tonight", "suicidal"),
    ("i'm lying on the train tracks", "suicidal"),
    ("i put the gun to my head", "suicidal"),
    ("i have enough pills saved to do it", "suicidal"),
    ("what's a lethal dose of my meds", "suicidal"),
    ("thinking about drinking bleach", "suicidal"),
    ("i'm gonna crash my car into a tree", "suicidal"),
    ("i'll make it look like an accident", "suicidal"),
    ("running the car in the garage, carbon monoxide", "suicidal"),
    ("does it hurt to bleed out", "suicidal"),
    ("what's the most painless way to go", "suicidal"),
    ("gonna unalive tonight", "suicidal"),
    ("ctb tonight", "suicidal"),
    # overdose signs happening now, third person too
    ("she's not moving and her lips are grey", "overdose"),
    ("he's slumped over in the car", "overdose"),
    ("his pupils are tiny and he won't wake", "overdose"),
    ("grey lips and he won't wake", "overdose"),
    ("her fingertips are turning blue", "overdose"),
    ("he's making gurgling noises", "overdose"),
    ("she's making snoring sounds", "overdose"),
    ("she's foaming at the mouth", "overdose"),
    ("his breathing is really slow", "overdose"),
    ("he needs narcan now", "overdose"),
    ("i took everything in the medicine cabinet", "overdose"),
    ("my kid swallowed some bleach", "suicidal"),
    ("i drank a whole fifth and took my klonopin", "overdose"),
    # harm to others: to death, fire with someone inside, running over, waiting armed
    ("gonna beat him to death", "harm_others"),
    ("i'm going to set his car on fire", "harm_others"),
    ("i'm going to burn his house down with him inside", "harm_others"),
    ("torch it with him in it", "harm_others"),
    ("gonna run my ex over", "harm_others"),
    ("i'm waiting for him in the parking lot with a bat", "weapon"),
    ("the gun is loaded and it's next to me", "weapon"),
    # domestic violence now, to the writer or someone at home
    ("he's strangling me", "domestic_violence"),
    ("she's throwing things at me", "domestic_violence"),
    ("my stepdad hits my mom every night", "domestic_violence"),
    ("my boyfriend is punching my sister", "domestic_violence"),
    ("she hits us when she drinks", "domestic_violence"),
    # severe withdrawal now
    ("i just had a fit after stopping my xanax", "withdrawal"),
    ("had a fit and shook all over", "withdrawal"),
    ("i feel a seizure coming on", "withdrawal"),
    ("there are bugs crawling under my skin", "withdrawal"),
    ("i'm throwing up blood since i quit", "withdrawal"),
    ("vomiting blood all morning", "withdrawal"),
    ("i hear voices telling me things", "withdrawal"),
    ("i hear people talking but nobody's here", "withdrawal"),
    ("my heart feels like it's going to explode", "withdrawal"),
    ("feverish and confused, day 2 without booze", "withdrawal"),
    ("tremors and twitching all over since i quit", "withdrawal"),
    ("he's jerking on the floor", "withdrawal"),
    # second batch: worth living, how much it takes, someone else's life, on the roof, mixing
    ("life isn't worth living", "suicidal"),
    ("i don't see the point in living", "suicidal"),
    ("how many pills would it take to die", "suicidal"),
    ("i'm worried my husband is going to take his own life", "suicidal"),
    ("please help i'm scared i'll do something to myself", "suicidal"),
    ("i wrote letters to say goodbye", "suicidal"),
    ("i'm at the edge of the roof", "suicidal"),
    ("my son is on the roof saying he'll jump", "suicidal"),
    ("this is the last time anyone will hear from me", "suicidal"),
    ("idk how much longer i can hold on", "suicidal"),
    ("i've got the pills and i'm going to take them all", "suicidal"),
    ("i set a date for it", "suicidal"),
    ("i want to k!ll myself", "suicidal"),
    ("sucidal thoughts again", "suicidal"),
    ("i keep having thoughts of killing myself", "suicidal"),
    ("i mixed a bottle of wine with my sleeping pills", "overdose"),
    ("my mom took all her pills", "overdose"),
    ("my friend is having an overdose", "overdose"),
    ("my dad just collapsed", "overdose"),
    ("im bleeding and cant stop it", "overdose"),
    ("i'm being abused at home", "domestic_violence"),
    ("i'm not safe at home", "domestic_violence"),
    ("he dragged me by my hair", "domestic_violence"),
    ("i'm scared for my life", "domestic_violence"),
    ("i feel like i'm going to snap and hurt somebody", "harm_others"),
    # third batch: relief once gone, into the water, readied means, beaten with something,
    # kept in, DT hallucinations, fighting no more, the pain stopping for good, carving, asking how
    ("everyone would be happier when i'm gone", "suicidal"),
    ("i'll be gone for good soon", "suicidal"),
    ("i'm going to walk into the lake and not come back", "suicidal"),
    ("tying the noose now", "suicidal"),
    ("the xanax i've been stashing is enough", "suicidal"),
    ("i'm going to use it on myself", "suicidal"),
    ("i just want the hurting to stop forever", "suicidal"),
    ("i want out of this life", "suicidal"),
    ("i'm tired of fighting, i give up", "suicidal"),
    ("i keep planning my funeral", "suicidal"),
    ("i'm done with everything", "suicidal"),
    ("i don't deserve to live", "suicidal"),
    ("i'm going to swallow every pill i have", "suicidal"),
    ("i don't plan on waking up", "suicidal"),
    ("what's the easiest way to kill yourself", "suicidal"),
    ("i'm going to step in front of the 8:40 bus", "suicidal"),
    ("today is my last day", "suicidal"),
    ("he said he'd jump off the school roof", "suicidal"),
    ("i scratched his name into my forearm", "self_harm"),
    ("cutting deeper every night", "self_harm"),
    ("i overdid it on the fent", "overdose"),
    ("he's nodding out and won't answer", "overdose"),
    ("her breathing sounds like snoring", "overdose"),
    ("my husband hit me with a belt", "domestic_violence"),
    ("he just slapped me", "domestic_violence"),
    ("he has me locked in", "domestic_violence"),
    ("he put his hands around my neck", "domestic_violence"),
    ("he threw a bottle right next to my head", "domestic_violence"),
    ("he's seeing tiny people on the floor", "withdrawal"),
    ("my dad doesn't recognize us", "withdrawal"),
    ("she blacked out and bit her tongue", "withdrawal"),
    ("my legs were jerking and then i passed out", "withdrawal"),
    ("the walls are moving", "withdrawal"),
    ("she's talking nonsense and sweating", "withdrawal"),
    # fourth batch
    ("i can't do this anymore", "suicidal"),
    ("this is my last text ever", "suicidal"),
    ("i'm recording my goodbye", "suicidal"),
    ("gonna drive off the cliff tonight", "suicidal"),
    ("i just want to be with my dad in heaven", "suicidal"),
    ("i purposely took all of it", "suicidal"),
    ("i took double my dose of everything", "overdose"),
    ("his pupils are like pinpricks", "overdose"),
    ("there's foam coming out of her mouth", "overdose"),
    ("he took something and won't answer", "overdose"),
    ("i think she's dying", "overdose"),
    ("my friend is dying from an overdose", "overdose"),
    ("she swallowed a baggie when the cops came", "overdose"),
    ("i'm going to put a bullet in his head", "harm_others"),
    ("i'll blow his brains out", "harm_others"),
    ("gonna light his house up", "harm_others"),
    ("he wants to shoot up his school", "harm_others"),
    ("he's coming back to finish me off", "domestic_violence"),
    ("she keeps having seizures", "withdrawal"),
    ("seizures back to back", "withdrawal"),
    ("i don't know what year it is", "withdrawal"),
    ("hearing music that isn't playing", "withdrawal"),
    # fifth batch
    ("yes i have a plan and the pills are here", "suicidal"),
    ("walking to the station to jump", "suicidal"),
    ("in the tub with a razor", "suicidal"),
    ("i put a bag over my head", "suicidal"),
    ("i won't make it through the night", "suicidal"),
    ("i hope i die in my sleep", "suicidal"),
    ("my life is over", "suicidal"),
    ("she texted me sorry and now she's not answering", "suicidal"),
    ("he wrote goodbye on facebook and his phone is off", "suicidal"),
    ("my toddler got into my xanax", "overdose"),
    ("she's breathing really weird", "overdose"),
    ("i shot up way more than usual", "overdose"),
    ("i'm going to kill that bitch", "harm_others"),
    # sixth batch
    ("ive decided to kill my self", "suicidal"),
    ("i want to jump", "suicidal"),
    ("how high does a building need to be to die", "suicidal"),
    ("i'm done living", "suicidal"),
    ("punching walls until my knuckles bleed", "self_harm"),
    ("i stuck a needle in my arm on purpose", "self_harm"),
    ("he's gray and cold", "overdose"),
    ("i'm doing cpr on my friend", "overdose"),
    ("i keep picturing stabbing my coworker", "harm_others"),
    ("my ex broke in and is in the house", "domestic_violence"),
    ("i'm seeing and hearing stuff", "withdrawal"),
    ("my body won't stop shaking", "withdrawal"),
    ("there are snakes on the bed", "withdrawal"),
    ("i'm peeing blood since i stopped", "withdrawal"),
    ("i want to jump into the river", "suicidal"),
    # seventh batch
    ("the car is running in the garage", "suicidal"),
    ("the engine is on and the garage is shut", "suicidal"),
    ("bought charcoal and tape", "suicidal"),
    ("i don't care if i wake up", "suicidal"),
    ("it would be easier if i just wasn't here", "suicidal"),
    ("i'm going to use it on my wrists", "suicidal"),
    ("i'm going to slash him", "harm_others"),
    ("i want to drown my baby", "harm_others"),
    ("she stabbed me with a fork", "domestic_violence"),
    ("she locked me outside in the snow", "domestic_violence"),
    ("i just had a grand mal", "withdrawal"),
    ("i see things crawling on the walls", "withdrawal"),
    ("he can't speak right and he's twitching", "withdrawal"),
    # eighth batch
    ("i've been holding the pills in my hand for an hour", "suicidal"),
    ("i'm a waste of space", "suicidal"),
    ("the world doesn't need me", "suicidal"),
    ("take care of my cat after i'm gone", "suicidal"),
    ("i'm going to drink until i die", "suicidal"),
    ("i'm standing by the tracks", "suicidal"),
    ("how much tylenol is too much? asking for myself", "suicidal"),
    ("i can't see a future for myself", "suicidal"),
    ("tonight i end it", "suicidal"),
    ("suicide seems like the only option", "suicidal"),
    ("she says she wants to disappear", "suicidal"),
    ("my daughter drank hand sanitizer", "suicidal"),
    ("im going to beat my kid until he learns", "harm_others"),
    ("my dad just threw my mom into the wall", "domestic_violence"),
    ("i think i'm having a heart attack", "withdrawal"),
    # ninth batch
    ("i need to die", "suicidal"),
    ("wanna kill myslf", "suicidal"),
    ("i'm at the bridge", "suicidal"),
    ("no point in me being alive", "suicidal"),
    ("ready to be done with this life", "suicidal"),
    ("i want to stop waking up", "suicidal"),
    ("he says we'd be better off with his life insurance", "suicidal"),
    ("his breathing stopped for a few seconds", "overdose"),
    ("my ex showed up with a knife", "domestic_violence"),
    ("my ex is stalking me", "domestic_violence"),
    ("my heart feels like it's going to stop", "withdrawal"),
    ("i'm seeing dead people in my room", "withdrawal"),
    ("fever, shaking and confusion", "withdrawal"),
    # tenth batch
    ("i just want to not be alive", "suicidal"),
    ("goodbye everyone, thanks for trying", "suicidal"),
    ("a bottle of vodka and all my pills", "suicidal"),
    ("i'm driving to the lake to end things", "suicidal"),
    ("she's going to take all her pills", "suicidal"),
    ("i can't go on anymore", "suicidal"),
    ("i want to cut so bad right now", "self_harm"),
    ("i mixed fentanyl and xanax", "overdose"),
    ("i might hurt someone today", "harm_others"),
    ("sweating, vomiting and my heart is pounding", "withdrawal"),
    # eleventh batch
    ("i'm going to end my suffering tonight", "suicidal"),
    ("nobody cares if i live or die", "suicidal"),
    ("the world would be better without me", "suicidal"),
    ("i just want it to end", "suicidal"),
    ("my friend is shaking and foaming after taking pills", "overdose"),
    ("i took my whole prescription at once", "overdose"),
    ("i was shaking so badly i fell and hit my head", "withdrawal"),
    ("i'm ready to jump to my death", "suicidal"),
    # "I have suicidal thoughts" inside a question is a present-tense disclosure
    ("i have suicidal thoughts, can i still do the program?", "suicidal"),
    # Fifth round: families from the blind set's misses, in other words.
    ("how many of my zoloft would it take to never wake up", "suicidal"),
    ("i want to take enough to just not wake up", "suicidal"),
    ("i'm going to sh tonight, i can't fight it", "self_harm"),
    ("i'm gonna cut once my roommate goes to bed", "self_harm"),
    ("i just need to feel pain right now", "self_harm"),
    ("the razor is on the sink and i'm ready to use it", "self_harm"),
    ("i took my old razor blades out, they're ready", "self_harm"),
    ("i got the new blades out", "self_harm"),
    ("scratching my legs till they bleed and i can't stop", "self_harm"),
    ("i'm nodding heavy after those percs", "overdose"),
    ("drank half a bottle of whiskey with my klonopin and i can't stay awake", "overdose"),
    ("i can't keep my eyes open after the xanax", "overdose"),
    ("he did way more of the fent than usual", "overdose"),
    ("i mixed my benzos and like four shots of tequila", "overdose"),
    ("25 tylenol, i already took them", "overdose"),
    ("i took 30 of them an hour ago", "overdose"),
    ("she swallowed 20 gabapentin", "overdose"),
    ("i already took them all, the whole bottle of benadryl", "overdose"),
    ("i'm going to make him pay tonight, the gun is in my car", "harm_others"),
    ("my boss is dead when i see him monday", "harm_others"),
    ("the next guy who touches my stuff is gonna get stabbed", "harm_others"),
    ("i'm going to put her in the ground", "harm_others"),
    ("i'm bringing my blade to work, they'll see", "weapon"),
    ("the bat's in my trunk", "weapon"),
    ("he kicked in the door and he's screaming", "domestic_violence"),
    ("she keeps texting that i'm dead, she knows where i am", "domestic_violence"),
    ("i had a seizure an hour ago and i feel another one starting", "withdrawal"),
    ("had a fit earlier, i can feel another seizure coming", "withdrawal"),
    ("quit xanax cold turkey, i'm confused and sweating through the sheets", "withdrawal"),
    ("burning up with fever and so confused since i stopped drinking", "withdrawal"),
    ("so confused since i quit benzos and i'm burning up", "withdrawal"),
    ("my heart is going like 170 since i stopped drinking", "withdrawal"),
    ("she keeps yelling that there are men in the walls", "withdrawal"),
    ("he's shaking and hallucinating since he quit", "withdrawal"),
]

BENIGN = [
    "this schedule is killing me",
    "I'm dying to know how much it costs",
    "I killed it at work today",
    "my boss is going to kill me if I'm late",
    "I killed myself laughing at that movie",
    "I overdosed on coffee this morning",
    "what happens if someone relapses",
    "do you treat people who have overdosed in the past?",
    "is the program a good fit for someone with depression",
    "the traffic is murder",
    "I could eat a horse",
    "my phone died",
    "that joke killed",
    "do you do drug testing",
    "how long does the program last",
    "I want to stop drinking",
    "I live with my partner, can he come to family sessions",
    "i'm scared about group therapy",
    "what is dual diagnosis",
    "I'm tired of cutting corners at work",
    "we need to cut costs",
    "can I keep my job while in the program",
    "I never wake up on time",
    "I'd die for a good pizza",
    "my plan is to enroll next month",
    "I want to end my subscription",
    "They cut my hours at work so I need evening sessions",
    "my cousin is going to shoot my sister's wedding photos",
    "does the program cover suicide prevention?",
    "can someone with a history of suicidal thoughts join?",
    "my dog had a seizure last year and is fine now",
    "is there a group for people who self-harm?",
    "my cat is hiding from the vacuum",
    # look-alikes of the newer families
    "he hurt himself playing soccer",
    "my kid cut himself shaving for the first time lol",
    "i want to end things with my boyfriend, he's toxic",
    "i don't want to live with my parents anymore",
    "i don't want to live in this town forever",
    "i never wake up on time for morning group",
    "i take all my meds at 8am every day",
    "i take all my meds to stay stable",
    "i cut my hair again",
    "i got a new razor for shaving",
    "i can't wake up early for group",
    "my counselor is not responding to my emails",
    "my phone is not responding",
    "i painted my nails purple",
    "i took too much time off work",
    "i take 20 mg of lexapro",
    "i ate a whole box of cookies lol",
    "i'm going to beat my brother at chess",
    "i'm going to kill it at my interview",
    "i need to kill some time before group",
    "i'm going to hurt my mom's feelings if i skip thanksgiving",
    "i have a gun license, is that an issue?",
    "i cut my finger with a knife making dinner",
    "the knife skills class was fun",
    "my sponsor pushed me to join iop",
    "my sponsor pushed me into joining",
    "my boss is going to kill me if i'm late",
    "i'm locked in for the fall session",
    "friends who aren't there for me are not friends",
    "i don't know where i am going with my life",
    "how do i lower my risk of overdosing if i ever slip",
    "hit me up when the schedule is out",
    "i'd rather die than sing karaoke at the alumni party",
    "i see things differently now that i'm sober",
    "i took a bunch of pictures at the picnic",
    "is there a break in the middle of group?",
    "i broke into tears at family night",
    "my laptop isn't responding again",
    "i'm hiding from my landlord lol, rent is late",
    "my sister said she'd kill me if i showed up late to her wedding",
    "my husband would kill me if he knew how much i spent on shoes",
    "i could kill my brother for eating my leftovers",
    "i was sitting on the edge of my bed crying but i'm ok",
    "i see things differently now, seeing things more clearly",
    "we're saving up for a vacation",
    # look-alikes of the warning-sign, means, overdose-sign and withdrawal families
    "there's no way out of my lease, can i do telehealth?",
    "the only way out is through, like my sponsor says",
    "i gave away all my old bottles and cleaned out my liquor cabinet",
    "i've made my peace with my past and i'm ready to start",
    "i made peace with my dad before he passed",
    "this is goodbye for now, thanks for the info",
    "we said goodbye to everyone at the alumni party",
    "my will to stay sober is strong",
    "i left a note for my counselor saying sorry i missed group",
    "i'm tired of living paycheck to paycheck",
    "i'm tired of living with my parents",
    "i need to stop living in the past",
    "i'm so tired of life getting in the way of my recovery",
    "i jump rope in the garage for exercise",
    "we have a carbon monoxide detector in the kitchen",
    "i sleep and don't wake up until noon",
    "i fall asleep and never wake up on time for group",
    "i won't be here tomorrow, i have a doctor's appointment",
    "i'm gonna do it tonight, i'm finally going to call the intake line",
    "she's not moving to denver after all",
    "the traffic isn't moving, i'll be late",
    "my dad is slumped in his recliner watching football again",
    "where can i get narcan near me",
    "how do i give someone narcan",
    "do you have naloxone kits?",
    "what do i do if someone ods at a party",
    "what should i do if someone overdoses in front of me?",
    "just watched a documentary about overdose deaths",
    "what time is the overdose awareness walk?",
    "my friend overdosed last month and survived, i want to get sober",
    "i'm going to run over to my mom's after group",
    "i'll run over to the pharmacy",
    "i'm going to set the table for thanksgiving",
    "my son beat me at chess again",
    "i can hear voices next door through the wall",
    "my heart was pounding before group",
    "my boss had a fit when i asked for time off",
    "i'm sweating and confused about the insurance forms",
    "is it safe to drink alcohol while taking klonopin?",
    "i drank coffee and took my meds this morning",
    "i want to die of embarrassment, i fell asleep in group",
    "i could die laughing at that video",
    "i can't breathe, i'm laughing so hard",
    "laughing so hard i can't breathe",
    "i thought i was having a heart attack but it was just panic",
    "almost had a heart attack when i saw my phone bill",
    "cravings are hitting me hard right now",
    "i want to take my life back from addiction",
    "the dbt group helped me build a life worth living",
    "do you help people who have thoughts of suicide?",
    "what are the warning signs that someone is overdosing",
    "i won't wake up early enough for the morning group",
    "i mixed up the dates for my intake",
    "how many sessions does it take to finish the program",
    "i want to kill my cravings for good",
    "i could sleep forever after that workout",
    "he hit me with a question i couldn't answer",
    "i'm tired of fighting with my wife about money",
    "i want out of this life of using",
    "tonight is my last night shift, so evenings work now",
    "my uncle doesn't recognize how much i've changed",
    "my kid jumped off the diving board today",
    "we went hiking at the cliffs last weekend",
    "i'm done with it, the forms are all filled in",
    "i walked into the lake to cool off",
    "what's the best way to hang a picture on drywall",
    "i took a handful of vitamins this morning",
    "my boss nodded off in the meeting lol",
    "this will be my last message tonight, talk tomorrow",
    "i'm writing my goodbye speech for my coworker",
    "we drove off the pier road and got ice cream",
    "my mom is in heaven and i miss her every day",
    "my doctor doubled my dose of lexapro",
    "i take my dose every morning",
    "my dad is dying to see me graduate",
    "he lit up when he saw his 30 day chip",
    "i burned my arm on the oven rack",
    "do people have seizures in alcohol withdrawal?",
    "i don't know what day it is, this week is a blur",
    "i think he's dying of boredom in group",
    "i wanna die my hair purple",
    "i'm thinking of ending my lease early",
    "my girlfriend is unconscious of how much she talks",
    "my dad beat my brother at arm wrestling",
    "i won't make it to group tonight, car trouble",
    "yes i have a plan for after the program",
    "he texted sorry, he's running late and will call when he's off work",
    "i hope i don't die of boredom at this training",
    "i want to jump into the program right away",
    "i'm done living in chaos, ready for structure",
    "my sister is seizing the day, she got into college!",
    "my husband's face was gray from the flu",
    "my heart stopped when i saw the bill lol",
    "he keeps pushing me to go to meetings",
    "snakes on the trail scared me on my hike",
    "working on my self-esteem in group",
    "ready to jump in, when do i start?",
    "i don't want to jump to conclusions about my counselor",
    "i'd jump at the chance to do evening group",
    "i've got the car running, heading to group now",
    "bought some charcoal for the bbq",
    "i don't care if i wake up early, i'll make group",
    "i want to die... of laughter at my kid's jokes",
    "my heart is racing from the coffee lol",
    "my dog bit me but it's just a scratch",
    "my coworker stabbed me in the back",
    "the driver cut me off on the highway",
    "my grand mal seizure was in 2015, now i'm on keppra",
    "my baby is crawling on the walls of her playpen",
    "that movie gave me a heart attack lol",
    "i'm gone for the weekend, back monday",
    "i want to disappear into a good book this weekend",
    "i can't see a future in my current job",
    "i threw my bag into the car and drove to group",
    "i'm standing by the bus stop waiting for the bus",
    "i'm at the bridge club with my mom",
    "i'm done with this life of using",
    "i want to stop waking up at 4am every night",
    "my friend's lips are purple from the grape popsicle",
    "my ex is stalking my instagram lol",
    "i need to dye my roots",
    "goodbye everyone, see you next week!",
    "i want to cut back on caffeine",
    "i mixed up my appointment times",
    "i keep thinking about jumping into a new hobby",
    "i hit my head on the cabinet, ouch",
    "i just want this week to end lol",
    "i took my whole family to the beach",
    # Fifth round guards and the narrow edges of the new families.
    "what do DTs mean?",
    "what is dt?",
    "can i bring a knife for my apples at lunch?",
    "the form asked if i had ever thought about suicide and i said no",
    "does gabapentin make you dizzy? asking for me",
    "i'm going to cut back on coffee",
    "how many sessions does it take to not feel so anxious",
    "the first person to finish gets a prize",
    "my phone is dead when i get home, text me now",
    "i have a shaving razor in my bag",
    "i took 10 minutes to get here",
    "my dad says i'm dead to him",
    "i can't keep my eyes open in the afternoon",
    "i'm going to put it in the box",
    "i broke in my new boots this week",
    "my dad said that i'm dead weight",
    "i took 12 of my vitamins",
]

# Told as history, dated long ago, and nothing says it is happening again: the past guard.
PAST = [
    "i overdosed two years ago and i've been clean since, can i join?",
    "i attempted suicide a few years ago, does that matter?",
    "i attempted suicide in college and i've been stable for years, can i still enroll",
    "my husband used to hit me, we're divorced now",
    "i cut myself in high school but i'm fine now",
    "i had a seizure when i quit drinking last year",
    "i od'd twice back when i was using heroin, clean now",
    "i had the dts the last time i quit, is outpatient safe for me",
    "I thought about killing myself a lot in 2019 but therapy helped",
    "my friend overdosed and survived, now i want to get sober",
    "i overdosed once and i've been doing well since then",
    "i've had suicidal thoughts in the past but not for a long time, is the program for me?",
    "i was hearing voices when i was using meth, it stopped after i got clean",
]

# The same words happening now, or said in the present tense: the guard must not veto them.
NOT_PAST = [
    ("i overdosed", "overdose"),
    ("i overdosed two years ago and i just did it again", "overdose"),
    ("my husband used to hit me and he's hitting me again", "domestic_violence"),
    ("i cut myself last night", "self_harm"),
    ("he choked me last night", "domestic_violence"),
    ("i had a seizure this morning after quitting drinking", "withdrawal"),
    ("years ago i started drinking and now i want to die", "suicidal"),
    ("i tried to kill myself last year and i want to die", "suicidal"),
    ("I attempted suicide years ago and I'm going to do it right now", "suicidal"),
    ("i was 2 years sober but i overdosed last night", "overdose"),
    ("i was doing well but i overdosed an hour ago", "overdose"),
    ("i was hearing voices when i was using and tonight they're back", "withdrawal"),
    ("i had a seizure last year and i feel another one coming", "withdrawal"),
]

# A child into medicine (the miss of blind3, the set written after the crisis classifier).
CHILD_INGESTION = [
    "My 3 year old got into my methadone, I don't know how much he drank",
    "the baby swallowed some of my pills",
    "my toddler ate grandma's edibles",
    "my son got into the medicine cabinet and ate a bunch of tylenol",
]
# Denials, as screening and check-in answers give them (blind2, blind4): the rule stands down.
DENIALS = [
    "daily check in mood 5, craving 4, trigger was my ex texting, no urges to hurt myself",
    "Thoughts about using keep popping up at night. No thoughts about hurting myself. Any tips?",
    "no plans to kill myself",
    "I have no thoughts to hurt myself or anyone",
]
NOT_DENIALS = [
    "no thoughts of killing myself but i have a plan to end it tonight",
    "i feel like there is no point, i want to kill myself",
]
NOT_CHILD_INGESTION = [
    "how do i keep my kids from getting into my meds?",
    "my kid got into my vitamins two years ago and was fine",
    "my daughter found my pills",
    "the kids ate some gummies at the party",
    "my son got into college",
]


@pytest.fixture(scope="module")
def rules() -> CrisisRules:
    return load_rules()


@pytest.mark.parametrize("text", DENIALS)
def test_a_denial_does_not_match(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text)) is None, text


@pytest.mark.parametrize("text", NOT_DENIALS)
def test_a_denial_vetoes_only_what_it_denies(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text)) is not None, text


@pytest.mark.parametrize("text", CHILD_INGESTION)
def test_a_child_into_medicine_is_an_overdose(rules: CrisisRules, text: str) -> None:
    match = rules.find(nlp()(text))
    assert match is not None and match.category == "overdose", text


@pytest.mark.parametrize("text", NOT_CHILD_INGESTION)
def test_children_and_medicine_without_ingestion_now(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text)) is None, text


@pytest.mark.parametrize(("text", "category"), CRISIS)
def test_crisis_language_matches(rules: CrisisRules, text: str, category: str) -> None:
    match = rules.find(nlp()(text))
    assert match is not None, text
    assert match.category == category


@pytest.mark.parametrize("text", BENIGN)
def test_figures_of_speech_do_not_match(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text)) is None


@pytest.mark.parametrize("text", PAST)
def test_history_long_ago_does_not_match(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text)) is None


@pytest.mark.parametrize(("text", "category"), NOT_PAST)
def test_past_guard_keeps_what_is_happening_now(
    rules: CrisisRules, text: str, category: str
) -> None:
    match = rules.find(nlp()(text))
    assert match is not None, text
    assert match.category == category


def test_without_tags_the_past_guard_vetoes_nothing(rules: CrisisRules) -> None:
    """A doc the tagger never saw keeps its phrase matches."""
    doc = spacy.blank("en")("i od two years ago")
    assert rules._told_as_distant_past(doc[1:2]) is False


def make_matcher(tmp_path) -> CrisisMatcher:
    """The component as Rasa's graph creates it."""
    return CrisisMatcher.create(
        CrisisMatcher.get_default_config(),
        LocalModelStorage(tmp_path),
        Resource("crisis"),
        ExecutionContext(GraphSchema({}), "test"),
    )


def test_component_overrides_the_classifier(tmp_path) -> None:
    """As a Rasa graph component: whatever DIET said, a match becomes intent `crisis`."""
    component = make_matcher(tmp_path)
    messages = []
    for text, predicted in [("i have a plan to end it", "faq"), ("what is iop", "faq")]:
        message = Message(data={"text": text})
        message.set(SPACY_DOCS["text"], nlp()(text))
        message.set("intent", {"name": predicted, "confidence": 0.97})
        message.set("intent_ranking", [{"name": predicted, "confidence": 0.97}])
        messages.append(message)

    crisis, benign = component.process(messages)

    assert crisis.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert crisis.get("intent_ranking")[0]["name"] == "crisis"
    assert crisis.get("crisis_match")["category"] == "suicidal"
    assert benign.get("intent")["name"] == "faq"
    assert benign.get("crisis_match") is None


def test_an_exclusion_vetoes_only_the_match_it_overlaps(rules: CrisisRules) -> None:
    text = "I killed myself laughing at that show, but honestly I want to kill myself"
    match = rules.find(nlp()(text))
    assert match is not None and match.matched_text == "kill myself"


def test_a_fallback_over_a_crisis_guess_stays_crisis(tmp_path) -> None:
    """When the classifier's best guess was `crisis` but too unsure, the fallback must not win."""
    component = make_matcher(tmp_path)
    messages = []
    for best in ("crisis", "faq"):
        text = "everything feels pointless lately"
        message = Message(data={"text": text})
        message.set(SPACY_DOCS["text"], nlp()(text))
        message.set("intent", {"name": "nlu_fallback", "confidence": 0.5})
        message.set(
            "intent_ranking",
            [
                {"name": "nlu_fallback", "confidence": 0.5},
                {"name": best, "confidence": 0.41},
                {"name": "out_of_scope", "confidence": 0.3},
            ],
        )
        messages.append(message)

    crisis, other = component.process(messages)

    assert crisis.get("intent") == {"name": "crisis", "confidence": 0.41}
    assert crisis.get("crisis_match") is None
    assert other.get("intent")["name"] == "nlu_fallback"


def test_the_rules_alone_catch_the_safety_set(rules: CrisisRules) -> None:
    """Every crisis message of data/crisis/written/messages.yml, and none of its look-alikes."""
    data = yaml.safe_load(
        (REPO_ROOT / "data/crisis/written/messages.yml").read_text(encoding="utf-8")
    )
    missed = [m["text"] for m in data["crisis"] if rules.find(nlp()(m["text"])) is None]
    alarms = [m["text"] for m in data["benign"] if rules.find(nlp()(m["text"])) is not None]
    assert missed == []
    assert alarms == []


JOKES = [
    "Your website is so slow I want to jump out a window lol. Where is the screening link?",
    "I'm going to overdose on coffee before this 7am group lol",
    "my wife would kill me if she knew I was pricing programs haha",
]


@pytest.mark.parametrize("text", JOKES)
def test_a_laughing_match_waits_for_the_classifier(rules: CrisisRules, text: str) -> None:
    doc = nlp()(text)
    assert rules.find(doc) is not None  # alone, the rule still fires
    assert rules.find(doc, defer_jokes=True) is None


@pytest.mark.parametrize(
    "text",
    [
        "going to kms after this check in lol not even joking",
        "lol. i want to kill myself",  # the laugh is in another sentence
        "i am going to kill myself tonight haha, no joke",
    ],
)
def test_no_joke_or_a_laugh_elsewhere_keeps_the_rule(rules: CrisisRules, text: str) -> None:
    assert rules.find(nlp()(text), defer_jokes=True) is not None, text


def test_component_defers_a_joke_only_when_the_classifier_judged_it_safe(tmp_path) -> None:
    component = make_matcher(tmp_path)
    messages = []
    for score, intent in ((0.08, "faq"), (0.91, "crisis"), (None, "faq")):
        message = Message(data={"text": JOKES[1]})
        message.set(SPACY_DOCS["text"], nlp()(JOKES[1]))
        message.set("intent", {"name": intent, "confidence": 0.9})
        if score is not None:
            message.set("crisis_classifier", score)
        messages.append(message)

    judged_safe, judged_crisis, unjudged = component.process(messages)

    assert judged_safe.get("intent")["name"] == "faq"
    assert judged_safe.get("crisis_match") is None
    assert judged_crisis.get("intent")["name"] == "crisis"
    assert unjudged.get("crisis_match") is not None


MENTIONS = [
    "what are the DTs exactly? my uncle had them once",
    "how do you know if someone is overdosing? just want to be prepared",
    "my friend OD'd last night but he's stable in the hospital, visiting tomorrow",
    "can alcohol withdrawal cause a heart attack in someone young?",
    "my dad killed himself when i was 12. i'm not suicidal, just sad on his birthday",
    "my teenager watched a show about a girl who cuts herself, how do I talk to him about it?",
    "I attempted suicide when I was 19 and I'm in a much better place now",
]


@pytest.mark.parametrize("text", MENTIONS)
def test_a_mention_of_an_event_gives_way_to_a_low_score(rules: CrisisRules, text: str) -> None:
    doc = nlp()(text)
    match = rules.find(doc)
    assert match is not None and ":mention_" in match.rule  # alone, the rule still fires
    assert rules.find(doc, defer_mentions=True) is None


@pytest.mark.parametrize(
    "text",
    [
        "he od'd and he's not breathing",  # the report beside the mention stands
        "i think im having the DTs, seeing bugs on the wall",
        "i want to kill myself, i'm going to overdose tonight",
    ],
)
def test_a_report_beside_a_mention_keeps_the_rule(rules: CrisisRules, text: str) -> None:
    match = rules.find(nlp()(text), defer_mentions=True)
    assert match is not None and ":mention_" not in match.rule, text


def test_component_defers_a_mention_only_below_the_floor(tmp_path) -> None:
    component = make_matcher(tmp_path)
    floor = CrisisMatcher.get_default_config()["mention_floor"]
    messages = []
    for score in (floor - 0.2, floor + 0.05, None):
        message = Message(data={"text": MENTIONS[0]})
        message.set(SPACY_DOCS["text"], nlp()(MENTIONS[0]))
        message.set("intent", {"name": "faq", "confidence": 0.9})
        if score is not None:
            message.set("crisis_classifier", score)
        messages.append(message)

    low, unsure, unscored = component.process(messages)

    assert low.get("intent")["name"] == "faq" and low.get("crisis_match") is None
    assert unsure.get("intent")["name"] == "crisis"  # the rule lowers the bar, it is not vetoed
    assert unscored.get("crisis_match")["category"] == "withdrawal"


# A reply to someone else, long enough to be a paragraph, with a rule's words in it.
ADVICE = (
    "Please don't do that to your wife. If she really loves you, it would destroy her if you"
    " ended your life. Why not stick around and do everything you can to make those who care about"
    " you as happy as you can? Talk to someone today."
)


def long_message(text: str, score: float | None, intent: str = "distress") -> Message:
    message = Message(data={"text": text})
    message.set(SPACY_DOCS["text"], nlp()(text))
    message.set("intent", {"name": intent, "confidence": 0.9})
    message.set("intent_ranking", [{"name": intent, "confidence": 0.9}])
    if score is not None:
        message.set("crisis_classifier", score)
    return message


def test_a_long_message_escalates_by_a_rule_only_with_the_classifier(tmp_path) -> None:
    """Over `long_chars`, a rule below `long_floor` is recorded for the safety question instead of
    escalating; at the floor, without a score, or in a short message, the rule escalates."""
    config = {**CrisisMatcher.get_default_config(), "long_floor": 0.5, "long_chars": 200}
    component = CrisisMatcher(config)
    assert len(ADVICE) > 200 and rules_match(ADVICE)
    short = "please do not end your life"
    assert rules_match(short)

    low, at_floor, unscored, low_short = component.process(
        [
            long_message(ADVICE, 0.3),
            long_message(ADVICE, 0.5),
            long_message(ADVICE, None),
            long_message(short, 0.3),
        ]
    )

    assert low.get("intent")["name"] == "distress" and low.get("crisis_match") is None
    assert low.get("crisis_match_deferred")["category"] == "suicidal"
    for escalated in (at_floor, unscored, low_short):
        assert escalated.get("intent")["name"] == "crisis"
        assert escalated.get("crisis_match") is not None
        assert escalated.get("crisis_match_deferred") is None


@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback"])
def test_a_deferred_rule_never_leaves_i_cannot_help(tmp_path, intent: str) -> None:
    """A message with a deferred rule is in the risk band: never "Sorry, I can't help with that"
    or "I didn't understand", but the distress reply (then the safety question)."""
    component = CrisisMatcher({**CrisisMatcher.get_default_config(), "long_floor": 0.5})

    [message] = component.process([long_message(ADVICE, 0.2, intent)])

    assert message.get("intent") == {"name": "distress", "confidence": 0.2}
    assert message.get("intent_ranking")[0]["name"] == "distress"
    assert message.get("crisis_match_deferred") is not None


def test_without_a_long_floor_every_length_escalates() -> None:
    component = CrisisMatcher(CrisisMatcher.get_default_config())
    [message] = component.process([long_message(ADVICE, 0.1)])
    assert message.get("intent")["name"] == "crisis"


def rules_match(text: str) -> bool:
    return load_rules().find(nlp()(text)) is not None


def test_default_paths_are_relative_to_the_repository() -> None:
    """A model stores its components' configs with their defaults: an absolute path would tie a
    model to the clone or image it was trained in (the Docker image serves a model trained
    elsewhere)."""
    from bot.rasa.nlu.crisis_classifier import CrisisClassifier
    from bot.rasa.nlu.crisis_matcher import CrisisMatcher

    patterns = CrisisMatcher.get_default_config()["patterns"]
    corpora = CrisisClassifier.get_default_config()["corpora"]
    assert not Path(patterns).is_absolute() and (REPO_ROOT / patterns).is_file()
    assert all(not Path(c).is_absolute() and (REPO_ROOT / c).is_file() for c in corpora)
    assert CrisisMatcher({"patterns": patterns})._rules is load_rules(patterns)
