"""The conversation: one stateless turn at a time, from message + state to answer + new state.

No language model: the turn is classified with a few rules, turned into a standalone search
(current challenge + the change the planner asked for), and answered from prompts/<lang>/
templates filled with the retrieved records. Every statement comes from a record or a template.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from indexer.corpus import RecordDict
from indexer.text import STOPWORDS, SURFACE_WORD, stem
from service.explain import Presenter
from service.intents import Intent, IntentClassifier
from service.language import detect_language
from service.schemas import ChatRequest, ChatResponse, ConversationState, ResultItem, Suggestion
from service.search import Searcher, SearchResult
from service.understanding import municipality_preference

MAX_SHOWN = 100  # "mehr" pages through at most this many results per topic
ORDINALS = {
    "1": 1, "eins": 1, "erste": 1, "ersten": 1, "erster": 1, "erstes": 1, "first": 1, "one": 1,
    "2": 2, "zwei": 2, "zweite": 2, "zweiten": 2, "zweiter": 2, "zweites": 2, "second": 2, "two": 2,
    "3": 3, "drei": 3, "dritte": 3, "dritten": 3, "dritter": 3, "drittes": 3, "third": 3, "three": 3,
    "4": 4, "vier": 4, "vierte": 4, "vierten": 4, "vierter": 4, "viertes": 4, "fourth": 4, "four": 4,
    "5": 5, "fünf": 5, "fuenf": 5, "fünfte": 5, "fünften": 5, "fünfter": 5, "fünftes": 5, "fifth": 5, "five": 5,
    # "mehr" numbers on (6–10, …) and a named solution joins the list: ordinals beyond 5, and "Nummer 7" (NUMBERED);
    # not "sechs" or "30", which free text uses ("30 km bis zur nächsten Praxis")
    "sechste": 6, "sechsten": 6, "sixth": 6, "siebte": 7, "siebten": 7, "seventh": 7, "achte": 8, "achten": 8,
    "eighth": 8, "neunte": 9, "neunten": 9, "ninth": 9, "zehnte": 10, "zehnten": 10, "tenth": 10,
}
# "das letzte klingt interessant", "the last one please", not "das letzte Hochwasser hat …"
LAST = re.compile(r"\b(die|der|das|den|dem|zur|zum|the)\s+(letzte[nrs]?|last)(\s+(one|lösung|projekt|ergebnis|beispiel))?"
                  r"(?=\W*$|\s+(klingt|ist|bitte|genauer|hört|sieht|please|sounds|looks|is|seems)\b)")
NUMBERED = re.compile(rf"(?:\bnr\.?|\bnummer|\bnumber|\bplatz|\brang|\brank|#)\s*(\d{{1,{len(str(MAX_SHOWN))}}})\b")
_SIMILAR = (r"(ähnlich\w*|vergleichbar\w*|similar|(?<!would )(?<!'d )(?<!i )like|along the lines|more of the same|"
            r"in der (art|richtung)|in die( gleiche)? richtung|gibt'?s davon mehr|gibt es davon mehr|more of (that|those|these)( kind)?|"
            r"(mehr|andere|weitere)( projekte| beispiele| lösungen| sachen| ansätze| solche\w*( \w+)?)? (so )?wie (das|die|der|den|dem|nummer|nr)|"
            r"von der (sorte|art)|in (dem|diesem|dem gleichen|dem selben) stil|im (gleichen |selben )?stil|in that style|"
            r"(städte|kommunen|gemeinden|orte)( \w+)? (was|etwas) wie|"
            r"so ?was wie|so etwas wie|comparable|alike|nach dem vorbild|modell?ed on|"
            r"(so ?was|so etwas|das|davon) (auch |noch )*(öfter|mehrmals|woanders|anderswo|elsewhere))")
SIMILAR_WORD = re.compile(rf"\b{_SIMILAR}\b")
_NUM = "|".join(sorted(ORDINALS, key=len, reverse=True))
MAX_RESET_WORDS = 10
MAX_OPENING_CLAUSE_WORDS = 4  # a reset said first, then why: "Let's start over, I need to look something up …"
MAX_DETAILS_GAP = 40  # characters between "mehr"/"Details" and the number it asks about ("mehr Infos zur zweiten Lösung")
# "das war hilfreich", "passt, danke", "this is really useful, thank you so much": closing words in a short message
# that asks for nothing more
CLOSING = re.compile(r"\b(danke\w*|dank|thx|thanks|thank you|merci|cheers|hilfreich|helpful|useful|that'?s all|"
                     r"das reicht( mir)?( erstmal| fürs erste)?|genau (so ?was|das) hab ich gesucht)\b")
# "Great, thanks a lot – I'll forward this to my colleagues in Aarhus. Have a nice day!": opens with thanks, asks nothing
THANKS_OPEN = re.compile(r"^\W*((ok|okay|great|perfect|perfekt|super|prima|passt|toll|klasse|cool|top|alles klar|gut)\W+)*"
                         r"(danke\w*|vielen dank|herzlichen dank|thanks|thank you|thx|cheers|merci|vergelt'?s gott)\b")
REQUEST = re.compile(r"\?|\b(zeig (mir|uns)|zeigen sie|show (me|us)|gib|give|such(e|en|t)? (mir|uns|mal|bitte|noch)|find (me|us|more|some)|"
                     r"mehr|more|weitere\w*|further|noch (was|etwas|eine?)|"
                     r"gibt'?s|gibt es|is there|are there|any|kannst du|können sie|can you|could you)\b")
ASKS_MORE = re.compile(r"\?|\b(gibt|gibts|zeig\w*|mehr|noch|aber|und|was|wie|wer|welche\w*|wo|bitte|more|show|what|how|"
                       r"which|who|where|and|but|also|any|please|nummer|number)\b|\d")
MAX_CLOSING_WORDS = 12
FAREWELL = re.compile(r"\b((und|and) )?(tschüss|bye|ciao|good ?bye|(noch )?(einen )?schönen \w+( noch)?|have a (nice|good|great) \w+)\b")
RESET_ANYWHERE = re.compile(r"\b(neu anfangen|von vorn\w*|neustart|start (over|again)|from scratch|"
                            r"(ganz )?neue suche|new search|fang\w* (\w+ )?neu an|start fresh|vergiss (das|es) alles|"
                            r"forget (it|all that|everything)|lass gut sein|(was|etwas) ganz anderes suchen|"
                            r"something completely different|(lass|lasst) uns (über )?(was|etwas) (anderes|neues)|neu starten)\b|"
                            r"\b((neues|anderes) thema( bitte)?|(noch ?mal|noch einmal) neu)\W*$")
# "the seventh one please", "first one pls", "die dritte bitte": a result by its ordinal alone
ORDINAL_ALONE = re.compile(rf"^\W*(und\s+)?(the|die|der|das|den|zur|zum)?\s*({_NUM}|[1-9]\d{{0,{len(str(MAX_SHOWN)) - 1}}})(\s+(one|eine?|lösung|solution))?"
                           rf"\W*(bitte|please|pls|plz)?\W*$")
# "Die zweite davon, wie wird die betrieben …?", "the third one: who runs it?", "das zweite da, gibt's sowas öfter?"
ORDINAL_START = re.compile(rf"^\W*(und\s+|and\s+)?(the|die|der|das|den|zur|zum)\s+({_NUM})(\s+(one|lösung|solution|davon|da|dort|of them|there))?\s*[,:;–-]")
# "the one from Darmstadt?", "die aus Hannover": a shown result by its place alone
ONE_FROM = re.compile(r"^\W*(und\s+)?(the one|die|das|der|den|dem)\s+(from|in|aus)\s+\S+(\s+\S+)?\W*$")
# "bitte nur Thema Verwaltung", "schwerpunkt soziales und teilhabe", "beschränk das aufs Thema Sicherheit"
THEME_WORD = re.compile(r"\b(thema|themen|themenfeld|schwerpunkt|bereich|beschränk\w*|topic|focus|restrict|limit|fokus|"
                        r"perspektive|blickwinkel|angle|perspective|lens|im vordergrund|rund ums?|"
                        r"allgemein|insgesamt|generell|in general|generally|more broadly|overall|breiter)\b|"
                        r"\w(seite|bereich|thema|themen|aspekt|aspekte|schwerpunkt|fokus)\b|\bgeh(t|en)'?s?\b(\s+\w+){0,3}?\s+ums?\b|"
                        r"\b(es|'s)\s+(\w+\s+){0,2}?ums?\s+\w+\s+geht\b|\b(side|part|aspect) of\b|\bmit blick auf\b")
# A follow-up that restricts the running topic to a space type, anywhere in a longer message ("gilt das auch für
# Gewerbegebiete? da haben wir die größten Dachflächen", "Bevorzugt wären Projekte in Wohnquartieren").
FACET_MARKER = re.compile(r"\b(auch|eher|lieber|speziell|spezifisch|insbesondere|vor allem|nur|bloß|davon|dabei|dafür|dazu|"
                          r"darunter|gilt|gelten|bezogen|fokus\w*|konzentrier\w*|beschränk\w*|eingrenz\w*|einschränk\w*|"
                          r"bevorzugt|am liebsten|projekte|beispiele|lösungen|also|too|rather|instead|specifically|especially|"
                          r"mainly|only|just|focus\w*|narrow\w*|restrict\w*|what about|how about|examples?|projects|"
                          r"solutions|prefer\w*|richtung|direction|von denen|von diesen|of these|of those|of them)\b|"
                          + THEME_WORD.pattern)
# Words that ask for a filter rather than say what the topic is ("können Sie das bitte auf Gewerbegebiete eingrenzen?").
FILTER_WORDS = frozenset("""
    thema themen themenfeld schwerpunkt bereich fokus richtung seite ecke teil sachen dinge ansätze projekte beispiele
    lösungen ergebnisse zeig zeige zeigen mir uns können könnten kannst kann sie du man würde wäre wären gern gerne
    lieber eher speziell spezifisch konkret insbesondere vor allem hauptsächlich geht gehts s um ums drum betrifft
    betreffen bezogen bezug aufs auf für fuer mal doch jetzt dann ja passt passend passende passendes tun hat von mit
    gibt gibts gilt gelten das sowas etwas dazu davon dabei dafür da eigentlich bevorzugt interessiert interessieren
    eingrenzen einschränken beschränken beschränk filtern angesiedelt liegen liegt hm hmm achso ok okay nee nein
    please show can could you would like prefer rather specifically especially mainly focus focused narrow down
    restrict limit to on about side area field things stuff solutions results examples projects related regarding
    concerning with have do does we are there is it s that this more interested let keep stick something anything
    also too any some context setting go with take nehmen nimm pick choose wählen sieht aus steht ich meine meinen
""".split())
MAX_FACET_WORDS = 12  # a filter and little else
NEGATED_PART = re.compile(r"\b(nicht|keine?[nmrs]?|not|no|statt|anstatt|instead of|rather than)\b[^,.;:!?–]*")
# A space type with one other word is still a filter ("Parkplatzsuche in der Innenstadt" was the topic); a theme word
# with another is a kind of solution ("something with trees and water") unless a marker says otherwise.
MAX_SPACE_REST = 1
MAX_MARKED_FACET_WORDS = 25  # a filter with more said about the topic
_GREETING = (r"goede(morgen|middag|navond)|dzień dobry|"
             r"hallo|hallöchen|hi|hey|moin|moinsen|servus|gude|tach|grüß gott|grüezi|guten (tag|morgen|abend)|hello|greetings|"
             r"good (morning|afternoon|evening)")
PATTERNS = {
    "reset": re.compile(r"^\W*((nee|nein|ok|okay|also|gut)\W+)?(doch\s+)?(noch ?mal\s+)?(ganz\s+)?(neu anfangen|von vorn[e]?"
                        r"( anfangen| beginnen)?|neues thema|anderes thema|neustart|zurücksetzen|start over|start again|"
                        r"(let'?s )?start (over|again|from scratch)|from scratch|new topic|reset|restart|"
                        r"vergiss (das|es|alles)( wieder| bitte)?|forget (it|that|all that|everything|about it)|"
                        r"alles (auf|zurück auf) (anfang|null|start)|zurück (auf|zum) (start|anfang)|(nochmal |noch mal )?von null|"
                        r"neue (suche|anfrage)|new (search|query)|clear (everything|all|it)|"
                        r"(lass|lasst) uns (was|etwas) (anderes|neues) (suchen|anschauen|machen)|"
                        r"let'?s (try|do|look at) something (different|else)|ich möchte eine neue (anfrage|suche)( stellen| starten)?)"
                        r"\W*(bitte|please)?\W*$"),
    "thanks": re.compile(r"^\W*((ok|okay|super|supi|prima|toll|klasse|cool|top|spitze|great|perfect|perfekt|nice|alles klar)\W+)?"
                         r"(danke|vielen dank|dank dir|dank ihnen|danke schön|dankeschön|merci|thanks?|thank you|cheers|vergelt'?s gott)\b"
                         r"[\w\s,!.'’]{0,40}$"),
    "greeting": re.compile(rf"^\W*({_GREETING})(\W+(there|all|everyone|zusammen|allerseits|miteinander|{_GREETING}))*"
                           r"(\W*$|\W+(\w+\W+){0,3}?(nochmal|noch mal|noch einmal|wieder|again|back)\b[^?]{0,80}$)"),  # "hallo nochmal, war kurz weg"
    "help": re.compile(r"(\bwas kannst du\b|\bwas können sie\b|\bwie funktionierst du\b|^\W*wie funktioniert (das|dieser assistent)\W*$|"
                       r"^\W*(ich brauche )?(hilfe|help)\W*$|\bwhat can you do\b|^\W*how does (this|it) work\W*$|"
                       r"\bwie funktioniert (das|es) hier\b|\bhow does this (tool|assistant|chat|thing) work\b|"
                       r"\bwhat can (this|the) (tool|assistant|chat|thing)( \w+)? do\b|\bwas kann (das|dieses) (tool|ding|werkzeug|programm)\b|"
                       r"\bwas kann ich (dich|sie|hier)( alles)? fragen\b|\bwie frag\w* ich\b|\bich brauch\w* (kurz |mal )?hilfe\b|"
                       r"\bhow (do|should|can) i ask\b|\bwhat can i ask\b|"
                       # what else the assistant can do: "Kann ich dich auch nach Ansprechpartnern fragen?", "Can you
                       # also compare projects for me or just list them?"
                       r"\bkann ich (dich|sie|euch) auch (\w+ ){0,4}fragen\b|\bcan i also ask you\b|"
                       r"\b(can|could) you also \w+[^?]{0,40}\bor (just|only) (list|show|find|search|give)\w*|"
                       r"\b(kannst du|können sie) (mir )?auch [^?]{0,50}\boder (nur|bloß) (auflisten|aufzählen|suchen|zeigen)\b)"),
    # the number within the same sentence part: not "Zur Info: …, und zwei Hausarztpraxen schließen nächstes Jahr."
    "details": re.compile(rf"(details?|mehr|more|genauer|näher\w*|info\w*|erzähl\w*|tell me)\b[^.!?:;]{{0,{MAX_DETAILS_GAP}}}?"
                          rf"\b(zu|zur|zum|über|on|about|for|to|of|nr\.?|nummer|number|#)?\s*(die |der |das |the )?"
                          rf"(nr\.?\s*|nummer\s*|number\s*|#\s*)?({_NUM})\b"),
    # "zur zweiten", "zum dritten bitte", "Nummer 2", "about the second one"
    "details_short": re.compile(rf"^\W*((zu[rm]|zu der|zu dem|über die|über den|about the|on the)\s+(nr\.?\s*|nummer\s*|number\s*)?|"
                                rf"(nr\.?|nummer|number|#)\s*)({_NUM})\b"),
    "similar": re.compile(rf"{_SIMILAR}\b.*?\b(nr\.?\s*|nummer\s*|number\s*|#\s*)?(?P<n>{_NUM})\b"),
    "more": re.compile(r"^\W*((ok|okay|gut|hm+|na gut|alles klar|danke|and|ok then)\W+)?"
                       r"(und\s+)?(zeig\w*\s+(mir\s+)?(bitte\s+)?)?(noch\s+)?(n |ein |\d{1,2} |zwei |drei |fünf |five |a few )?"
                       r"(paar|mehr|weitere|andere|more|other|next)"
                       r"(\s+(lösungen|ergebnisse|vorschläge|beispiele|solutions|results|options|bitte|please))?\W*(bitte|please)?\W*$|"
                       # "Gibt's da noch mehr davon?", "habt ihr noch mehr dazu?"
                       r"^\W*(und\s+)?(gibt'?s|gibts|gibt es|habt ihr|haben sie|hast du)\s+(da\s+|dazu\s+|davon\s+)?(noch\s+)?"
                       r"(mehr|weitere)(\s+(davon|dazu|beispiele|lösungen|projekte))?\W*$"),
    "status": re.compile(r"\b(nur|only|bloß|ausschließlich)\b.*\b(verstetigt\w*|dauerbetrieb|regelbetrieb|umgesetzt\w*|laufend\w*|"
                         r"established|permanent|running|in operation)\b"),
}
# Questions about the money or staff a shown solution takes (the atlas has no cost data: answered honestly).
COSTS = re.compile(r"\b(kostet|was kostet|was kosten|gekostet|kostenpunkt|wie teuer|wie viel (kostet|kosten|geld|aufwand|personal)|welche kosten|"
                   r"investiert|investition\w*|invested|an personal|personalaufwand|personalbedarf|"
                   r"wie viele (stellen|leute|mitarbeitende|personen)|how many staff|"
                   r"staff (time|effort|needed)|personalstunden|arbeitsstunden|stunden pro woche|hours (per|a) week|"
                   r"(laufende[n]?|betriebs|folge|unterhalts|wartungs)\s?kosten|(running|operating|maintenance|follow-up) costs?|"
                   r"(finanziert|gefördert|bezahlt) (wurde|worden)|how (was|were|is|are) .{1,30}? funded|"
                   r"(halbe[nr]?|viertel|ganze[nr]?|volle[nr]?) stelle|vollzeit(stelle|äquivalent)\w*|ftes?|"
                   r"wer (zahlt|bezahlt|finanziert)|wie (wurde|wird|war) \w+ (finanziert|bezahlt)|how much (does|did|is|was|would)|"
                   r"what (does|did) .{1,40} cost|who pa(id|ys)|paid for|how expensive|"
                   r"rechnet sich|amortis\w*|payback|pays? off|pays? for itself|return on investment|"
                   r"(wurde|wird|war) (das|es|dies|sowas|das projekt) (\w+ )?gefördert|aus welche[mn] (förder)?(topf|programm)|"
                   r"(was|were) (it|they|that) funded|funded by)\b")
# Who to ask about a shown solution.
CONTACT = re.compile(r"\b(wer (kann|könnte|weiß|kümmert|(ist|war|sind|waren) ([\w.]+ ){0,3}(zuständig|verantwortlich|ansprechpartner))|"
                     r"ansprechpartner\w*|ansprechperson\w*|"
                     r"kontakt\w*|an wen|wie komm\w* ich an|who (can|could|should) i (contact|talk to|ask)|contact person|"
                     r"get in touch|who runs|wer steckt (da )?(da)?hinter|wer steht (da )?(da)?hinter|who'?s behind|who is behind|"
                     r"links?|projektseite|webseite|website|homepage|url|wie (erreiche|erreichen) (ich|wir)\b|"
                     r"(wie )?erreich\w* (ich|man) (die|den|das|sie|jemand\w*|dort|da)\b|(can|do|could) (i|we) reach|"
                     r"reach (them|the team|the people|someone)|e-?mail\w*|mailadresse|telefon(?!isch)\w*|phone|"
                     r"anrufen|ruf\w* ich|call)\b")
# Since when a shown solution runs, and who takes part: answered from the record's own sentences.
SINCE = re.compile(r"\b(seit wann|wie lange (schon|läuft|gibt|hat|dauert\w*)|wann (wurde|hat|haben|ging|startete|begann|fing)|since when|"
                   r"how long (has|have|does|did)|when did)\b")
PARTNERS = re.compile(r"\b((?<!our )(?<!unsere )(?<!unseren )(?<!unserer )(?<!with )(?<!mit )(?<!suchen )(?<!looking for )partner\w*|"  # not the planner's
                      r"mit wem|wer (war|ist|sind|waren) (\w+ ){0,3}beteiligt|wer macht (\w+ ){0,2}mit|"
                      r"who (else )?(was|is|were|are) involved|who took part)\b")
# "sowas wie in Braunschweig": a shown result named as the model for more of the same.
LIKE = re.compile(r"\b(so ?was wie|so etwas wie|(?<!heißt )ähnlich\w* wie|vergleichbar\w* (zu|mit|wie)|similar to|(?<!called )something like|"
                  r"more like|(mehr|noch was|weitere) so wie|(mehr|weitere|ähnliche) ((beispiele|projekte|lösungen|ansätze|sachen|städte|kommunen) )?wie|"
                  r"more ((examples|projects|solutions|ones) )?like)\b")
CONTEXT_START = re.compile(r"^\W*(for context|some context|zum kontext|zur einordnung|zur info(rmation)?|kurz zu uns|"
                           r"(kurz )?(zum )?hintergrund|background|just so you know|fyi|for your information|"
                           r"a bit about us|about us|zu unserer (stadt|gemeinde|kommune))\b")
NEW_TOPIC = re.compile(r"^\W*((ok|okay|gut|so|also|und|and|jetzt|now|btw|übrigens|ah|oh)\W+)?((a|an|eine?)\s+)?"
                       r"((ganz|noch|völlig|komplett|totally|completely|entirely|quite)\s+)?"
                       r"((andere[snr]?|neue[snr]?|eine|other|another|new|different|separate) (frage|thema|anliegen|question|topic|issue)|"
                       r"(mal |noch )?(was|etwas) (ganz |völlig |komplett )?(anderes|neues)|something (completely |totally )?(different|else)|"
                       r"zweite[snr]? anliegen)\b|\bhat (mit dem|damit|mit dem ersten|mit dem vorherigen) (\w+ )?(nix|nichts) zu tun\b|"
                       r"\bnothing to do with (the|my) (first|previous|last|other)\b|"
                       r"\b(eine|ne|a) (andere|separate|eigene|zweite|other|separate|different) (baustelle|geschichte|sache|story|matter)\b|"
                       r"^\W*((ok|okay|gut|so|also|und|jetzt)\W+)?((ganz|noch|völlig|komplett|something|a|an|one)\s+)?"
                       r"(andere|zweite|weitere|neue|other|different|another) "
                       r"(baustelle|problem|problemfeld|sache|geschichte|challenge|problem)\W")
POINTS_BACK = re.compile(r"^\W*((hm+|ok|okay|und|achso|also|and|so)\W+)?(gibt'?s|gibts|gibt es|habt ihr|hast du|haben sie|is there|are there|any)\s+"
                         r"(da|dazu|davon|dafür|sowas|so was|auch|anything|something)\b")
WANTS_DETAILS = re.compile(r"\b(mehr dazu|dazu mehr|mehr darüber|genauer|erzähl\w*|details?|tell me more|more about|more on|show me|zeig mir|"
                           r"wie funktionier\w*|was mach\w*|how does|how do they|what do they)\b")
QUESTION = re.compile(r"\?\s*$|^\W*(wie|was|warum|wieso|woran|wer|wo|how|what|why|who|where)\b")
# "I was thinking more of shading at bus stops", "ich dachte eher an Begrünung": the planner corrects the topic
RATHER_MEANT = re.compile(r"\b(ich dachte (eher|mehr|da eher|eigentlich) an|ich meinte (eher|eigentlich)|"
                          r"i was thinking (more )?(of|about)|i meant|what i meant)\b")
FOLLOW_UP_START = re.compile(r"^\W*(bitte\s+|please\s+)?(und|aber|eher|lieber|gerne?|auch|mit|ohne|nur|was ist mit|wie wäre es mit|and|but|rather|"
                             r"what about|how about|or|only|just|vor allem|hauptsächlich|insbesondere|speziell|"
                             r"(dann )?konkreter|focus on|mostly|mainly|especially|preferably|more about|was mit|ideally|idealerweise|am besten|"
                             r"am liebsten|more focused on|(uns|mich) interessier\w* (vor allem|eher|besonders|hauptsächlich|mehr|nur)|"
                             r"(das ?gleiche|dasselbe|selbiges|the same) (für|mit|bei|in|for|with))\b")
MAX_FOLLOW_UP_WORDS = 7
# An aside the planner marks as one ("apropos, weißt du wie das Wetter wird?", "sorry unrelated - …"): inside a
# conversation it is a planning question only if the domain detector is fairly sure (a follow-up such as "übrigens,
# gibt es auch was für Senioren?" scores 0.41, "übrigens regnets hier grad" 0.27, the weather 0.04, a podcast tip 0.02).
ASIDE = re.compile(r"\b(apropos|nebenbei|übrigens|unrelated|off[- ]topic|by the way|btw|privat\w*|personal question|side ?note|"
                   r"weißt du|wissen sie|kennst du|kennen sie|do you know|can you recommend)\b")
MIN_ASIDE_ON_TOPIC = 0.35
# Before any topic, a message the domain detector is unsure about may be a greeting or a question about the assistant
# ("Hallo Atlas-Lotse, guten Morgen!" 0.19, above the refusal threshold): the turn model decides (see _opening).
MIN_OPENING_ON_TOPIC = 0.3
# "welche davon sind erst Ideen?", "only ones still in the planning stage pls": a status word in a short question
# that filters what is shown
STATUS_ASK = re.compile(r"\b(welche\w*|which|was davon|what of|nur|only|just|bloß|ausschließlich|gibt es|gibt'?s|any|"
                        r"are there|is there|sind (die|das|davon|sie)|ist (das|die|davon)|are (they|these|those|any)|"
                        r"is (it|that|this|anything)|läuft|laufen|show me|zeig\w*|davon)\b")
MAX_STATUS_WORDS = 12  # in the message's first sentence
MAX_STATUS_BACK_WORDS = 20  # … when it points back at what is shown ("Gibt es davon welche, die schon abgeschlossen sind, …")
BACK_REFERENCE = re.compile(r"\b(davon|dabei|dafür|dazu|damit|darunter|so ?was|so etwas|solche\w*|among these|of these|"
                            r"of those|for these|for those)\b")
GREETING_WORD = re.compile(rf"\b({_GREETING}|hallo\w*|grüß\w*|n'?abend)\b")  # a learned greeting must say one
MIN_RESET_PROBABILITY = 0.5  # "Schluss damit, neue Suche bitte" — a wrong reset loses the conversation (dev non-resets: ≤ 0.42)
MIN_CANNED_PROBABILITY = 0.5  # a thank-you or greeting the rules did not catch
# A message that opens with a greeting word and goes on to introduce the writer ("oh and good afternoon, I should have
# said that at the start"): a greeting from a weaker guess and in more words.
MIN_OPENING_GREETING = 0.35
MAX_GREETING_WORDS = 16
GREETING_OPENS = 4  # the greeting word is among the first words
# A statement (no question mark, no result named) the turn model takes for context from here is context, though it
# mentions a website, money or partners.
MIN_STATEMENT_CONTEXT = 0.6
# A message about the planner's place that names a space type or theme in passing is context from here …
MIN_CONTEXT_PROBABILITY = 0.8
MIN_STATEMENT_CONTEXT_FACET = 0.7  # … or, without a question mark, from here ("…, dazu zwei Gewerbegebiete mit viel …")
MIN_NEW_PROBABILITY = 0.8  # a longer follow-up naming a space type or theme is a new challenge from here
# Below this the turn model is unsure a message is a new challenge: it refines the topic rather than replace it (on the
# dev sets every follow-up the model took for "new" scored 0.14–0.50, the new topics inside a conversation 0.59–0.90).
MIN_NEW_TOPIC = 0.5
# From here the turn model's small talk ("wetter is heut super, erstmal kaffee", "übrigens regnets hier grad") stays
# small talk even when the domain detector scores it on-topic (up to 0.70 for asides about the weather, the office or
# the town): dev small talk 0.58–0.96, follow-ups it mistakes for small talk 0.17–0.43 (issue 13).
MIN_SMALL_TALK_PROBABILITY = 0.5
# A question about a result named by number or place asks for its costs, contact or similar ones when the turn model
# reads that from here, though no rule's cue word is in it.
NUMBERED_KINDS = ("costs", "contact", "similar")
MIN_NUMBERED_KIND = 0.8  # dev: the same from 0.5 to 0.8; the costs questions above read 0.89–0.98
MIN_HELP_PROBABILITY = 0.45  # the learned help intent counts from here ("Was kann man hier so fragen?" 0.87; a lunch tip 0.32)
MAX_NAMED_CANDIDATES = 6  # a name shared by more records than this names none of them
STATUS_DEPTH = 4  # a status filter in a conversation looks at the best 4 × limit matches of the topic ("welche davon …")


TurnKind = Literal["new", "refine", "context", "space_type", "theme", "more", "details", "similar", "status", "contact",
                   "costs", "since", "partners", "which_one", "unclear", "greeting", "thanks", "help", "reset", "empty", "no_topic"]
# What a question about the results on screen asks for, in the order the rules try them.
ABOUT_SHOWN: tuple[tuple[TurnKind, re.Pattern[str]], ...] = (("costs", COSTS), ("contact", CONTACT), ("since", SINCE),
                                                            ("partners", PARTNERS))


@dataclass
class Turn:
    """What the planner asked for in this turn."""

    kind: TurnKind
    number: int | None = None
    candidates: tuple[int, ...] = ()  # for "which_one": the shown results the message could mean
    refines: bool = False  # a space type or theme that also says more about the topic: both are kept


def classify(message: str, state: ConversationState, understanding_space: list[str], understanding_themes: list[str],
             intent_of: Callable[[str], Intent] | None = None, references: tuple[int, ...] = (),
             understanding_status: str | None = None, facet_words: frozenset[str] = frozenset()) -> Turn:
    """Decide what kind of turn this is: the rules below, and for a message about one result the rules took for a
    question about its details, what the turn model is sure it asks of it ("was hat nr 3 gekosstet …?", "Die Sache
    aus Nr. 2, wie groß war da das Budget?"): the number is exact, what is asked of it is learned."""
    turn = _classify(message, state, understanding_space, understanding_themes, intent_of, references,
                     understanding_status, facet_words)
    if turn.kind == "details" and turn.number is not None and intent_of is not None and not _asks_details(message):
        intent = intent_of(message)
        if intent.name in NUMBERED_KINDS and intent.probability >= MIN_NUMBERED_KIND:
            return Turn(intent.name, turn.number)  # type: ignore[arg-type]  # NUMBERED_KINDS holds turn kinds
    return turn


def _classify(message: str, state: ConversationState, understanding_space: list[str], understanding_themes: list[str],
              intent_of: Callable[[str], Intent] | None = None, references: tuple[int, ...] = (),
              understanding_status: str | None = None, facet_words: frozenset[str] = frozenset()) -> Turn:
    """The rules.

    Exact forms are rules (numbers, ordinals, "mehr", greetings, a space type alone); everything else a follow-up can
    be is left to ``intent_of``, the classifier learned from prompts/<lang>/intents.yaml. ``references`` are the
    numbers of the shown results the message names by place or title words ("die aus Hannover");
    ``understanding_status`` the implementation status it names, if any; ``facet_words`` the words of the message
    that name a space type or theme.
    """
    text = " ".join(message.lower().split())
    words = re.findall(r"\w+", text)
    if not words:
        return Turn("empty")
    for kind in ("reset", "greeting", "thanks", "help"):
        if PATTERNS[kind].search(text) and not (kind == "thanks" and _asks_more(text)):
            return Turn(kind)
    if RESET_ANYWHERE.search(text) and (len(words) <= MAX_RESET_WORDS or RESET_ANYWHERE.search(_opening_clause(text)) or (
            intent_of is not None and (intent := intent_of(message)).name == "reset" and intent.probability >= MIN_RESET_PROBABILITY)):
        # "ne, vergiss das, lass uns nochmal ganz neu anfangen"; longer: "Let's start over, I need to look something up
        # for a colleague", or when the turn model reads a reset too ("…, löschen wir mal den Verlauf und fangen neu an")
        return Turn("reset")
    if len(words) <= MAX_CLOSING_WORDS and CLOSING.search(text) and not _asks_more(text):
        return Turn("thanks")  # "das war hilfreich", "passt, danke"
    if THANKS_OPEN.search(text) and not REQUEST.search(FAREWELL.sub("", text)):
        return Turn("thanks")  # "Vielen Dank, das reicht mir fürs Erste. Ich nehme das mit in die Bauausschusssitzung."
    has_topic = bool(state.challenge)
    if has_topic:
        if match := PATTERNS["similar"].search(text):
            return Turn("similar", ORDINALS[match.group("n")])
        if SIMILAR_WORD.search(text) and (numbers := _numbers(text)):
            return Turn("similar", numbers[0])  # "die dritte trifft es gut, zeig mir vergleichbare"
        if match := PATTERNS["details"].search(text):
            return _details_or_similar(text, ORDINALS[match.group(5)])  # "Nummer 4 gefällt mir, gibts davon mehr?"
        if match := PATTERNS["details_short"].search(text):
            return _details_or_similar(text, ORDINALS[match.group(5)])
        if match := ORDINAL_ALONE.search(text):
            number = match.group(3)
            return Turn("details", ORDINALS.get(number) or int(number))  # "die 2", "die 7 bitte"
        if match := ORDINAL_START.search(text):
            return _details_or_similar(text, ORDINALS[match.group(3)])  # "Die zweite davon, wie wird die betrieben?"
        if PATTERNS["more"].search(text):
            return Turn("more")
        if PATTERNS["status"].search(text):
            return Turn("status")
        if about := next((kind for kind, pattern in ABOUT_SHOWN if pattern.search(text)), None):
            if "?" not in text and not references and not _numbers(text) and intent_of is not None \
                    and (intent := intent_of(message)).name == "context" and intent.probability >= MIN_STATEMENT_CONTEXT:
                return Turn("context")  # "Kleinstadt in Vorpommern, …, viele haben nicht mal ne Website."
            return _about_one(about, text, references)
        first = re.split(r"[?.!]|\s[–-]\s", text, maxsplit=1)[0]  # "Nur die, die noch in Planung sind – wir suchen …"
        most = MAX_STATUS_BACK_WORDS if BACK_REFERENCE.search(first) else MAX_STATUS_WORDS
        if understanding_status and len(re.findall(r"\w+", first)) <= most and STATUS_ASK.search(first) \
                and not references and not _numbers(text):  # "wie lief die Umsetzung bei der zweiten?" is about one
            return Turn("status")  # "welche davon sind erst Ideen?"
        if match := NUMBERED.search(text):  # "Details zu Nummer 7" (1–5 and ordinals are matched above)
            return _details_or_similar(text, int(match.group(1)))
        if LAST.search(text) and state.shown and len(words) <= MAX_FOLLOW_UP_WORDS:  # "das letzte klingt interessant"
            return _details_or_similar(text, len(state.shown))
        if LIKE.search(text) and len(references) == 1:
            return Turn("similar", references[0])
        if WHAT_IS.search(text) and len(references) == 1:
            return Turn("details", references[0])  # "was ist dieser Lärmomat in Berlin?", "what's Schaddel in Kassel?"
        short = len(words) <= MAX_FOLLOW_UP_WORDS
        if NEW_TOPIC.search(text):
            return Turn("new")  # "Ganz anderes Thema: in unserem Gewerbegebiet …"
        if CONTEXT_START.search(text):
            return Turn("context")  # "For context: we have about 12,000 inhabitants, with a tourist peak in summer"
        if RATHER_MEANT.search(text) and not _numbers(text) and not references:
            return Turn("refine")  # "I was thinking more of shading at bus stops"
        if len(references) == 1 and WANTS_DETAILS.search(text):
            return Turn("details", references[0])  # "Gieß den Kiez klingt spannend, mehr dazu": not the space type Kiez
        space = _facet(text, words, facet_words, FACET_MARKER, MAX_SPACE_REST) if understanding_space else None
        theme = _facet(text, words, facet_words, FACET_MARKER, 0) if understanding_themes and (
            THEME_WORD.search(text) or not POINTS_BACK.search(text)) else None
        if "refines" in (space, theme) and _reads_as_new(message, intent_of):
            space = theme = None  # "Wir haben auch ein Problem mit Starkregen in der Altstadt, die Keller laufen voll"
        if "refines" in (space, theme) and intent_of is not None and (intent := intent_of(message)).name == "context" \
                and intent.probability >= (MIN_STATEMENT_CONTEXT_FACET if "?" not in text else MIN_CONTEXT_PROBABILITY):
            return Turn("context")  # "we're a town of about 30,000 just outside Cologne, lots of commuter traffic"
        if space and understanding_themes and THEME_WORD.search(text):
            # "Können wir den Fokus ganz aufs Soziale legen, also Treffpunkte, Nachbarschaftshilfe?"
            return Turn("theme", refines=theme != "only")
        if space:
            return Turn("space_type", refines=space == "refines")  # "und im Gewerbegebiet?", "gilt das auch für …?"
        if theme:
            return Turn("theme", refines=theme == "refines")  # "bitte nur Einzelhandel und Leerstand", "eher die Energieseite"
        if short and understanding_themes and (FOLLOW_UP_START.search(text) or len(words) <= 3):
            return Turn("theme")
        if intent_of is not None:
            return _follow_up(intent_of(message), text, words, references)
        if short and FOLLOW_UP_START.search(text):
            return Turn("refine")
    elif len(words) <= MAX_FOLLOW_UP_WORDS and any(PATTERNS[k].search(text) for k in ("similar", "details", "details_short", "more")):
        return Turn("no_topic")  # "mehr" or "Details zu Nummer 2" before anything was shown
    if len(words) == 1 and len(text) < 3:
        return Turn("empty")
    return Turn("new")


MAX_CONTEXT_CHARS = 300
# Asking what a result is that the message names by place or title words is a question about that result.
WHAT_IS = re.compile(r"\b(was (ist|sind|macht|genau macht|hat \w+( da| dort| denn)? (genau )?gemacht)|wie (geht|läuft|funktioniert) (das|es) mit|"
                     r"wie (macht|machen|hat|haben|löst|lösen) \w+( \w+)? (das|es)\b|was (muss|kann|soll) man sich (darunter|da|dabei) vorstellen|"
                     r"what'?s|what is|what does|how does|^\W*and that|^\W*und (der|die|das|dieser|diese|dieses))\b")

# A question about one solution, which may name it: "was ist …", "mehr zu …", "ähnlich wie …", "wer betreut …".
ABOUT_NAMED = re.compile("|".join(p.pattern for p in (WHAT_IS, LIKE, WANTS_DETAILS, CONTACT, COSTS, SINCE, PARTNERS)))
# A kind of thing rather than one shown solution: "so Notrufsäulen oder sowas", "so gesicherte Boxen".
KIND = re.compile(r"^\W*so\s|\b(so ?was|so etwas|oder so|solche\w*|such|something like|that kind of|this kind of)\b")
# "eher was mit Abwärme", "lieber etwas Günstigeres", "rather something with sensors": a short wish that shifts the topic.
RATHER_SOMETHING = re.compile(r"^\W*(eher|lieber|besser|gerne?|rather|preferably) (was|etwas|something|anything)\b")
WHICH_OF = re.compile(r"^\W*(welche\w* (davon|dieser|von denen|von diesen|von den\w*)|which (ones? )?(of|among) "
                      r"(these|those|them|the results))\b")
# "Coworking im Ort, gibts das?": points back at the topic at the end of the message.
POINTS_BACK_END = re.compile(r"\b(gibt'?s|gibts|gibt es|habt ihr|haben sie|is there|are there)\s+"
                             r"(das|sowas|so was|so etwas|da was|dazu was|auch|that|anything like that)(\s+auch)?\W*$")
WITHOUT = re.compile(r"^\W*(aber |but |und |and |nur |only |am liebsten |ideally )?(ohne|without)\b")
SAME_FOR = re.compile(r"^\W*(und |and )?(das ?gleiche|dasselbe|selbiges|the same)( auch| also)? (für|mit|bei|in|for|with)\b")
ANAPHORA = re.compile(r"\b(da|davon|dafür|dazu|damit|dort|so ?was|solche\w*|diese\w*|welche\w*|those|these|them|there)\b")
ABOUT_ONE = ("details", "similar", "contact", "costs")
ORDINAL_ANY = re.compile(rf"(?<![\w.,])({_NUM})(?![\w.,])")


def _follow_up(intent: Intent, text: str, words: list[str], references: tuple[int, ...]) -> Turn:
    """A follow-up the rules did not settle, from the learned intent and the results it names."""
    short = len(words) <= MAX_FOLLOW_UP_WORDS
    if NEW_TOPIC.search(text):
        return Turn("new")  # "Andere Frage: …"
    if len(references) == 1 and ONE_FROM.search(text):
        return Turn("details", references[0])  # "the one from Darmstadt?"
    if WITHOUT.search(text) and intent.name in ("context", "new", "off_topic"):
        return Turn("refine")  # "aber ohne Videoüberwachung, das kriegen wir politisch nicht durch"
    if SAME_FOR.search(text) and not references and not _numbers(text):
        return Turn("refine")  # "und das gleiche mit Abwärme aus der Produktion?"
    if short and not references and (intent.name in ("new", "refine", "context", "help") or WHICH_OF.search(text)) \
            and municipality_preference(text).land:
        return Turn("context")  # "haben Sie auch was aus Bayern?": a Land, kept with what the planner said about the place
    if POINTS_BACK.search(text) or POINTS_BACK_END.search(text):
        return Turn("refine")  # "gibts da was mit Lieferservice vom Händler im Ort?", "Coworking im Ort, gibts das?"
    if WHICH_OF.search(text) and not references and intent.name in ABOUT_ONE:
        return Turn("refine")  # "welche davon messen den Lärm?": a filter on the topic, not one result
    if KIND.search(text) and intent.name in ("new", "refine", "details", "off_topic") or short and RATHER_SOMETHING.search(text):
        return Turn("refine")  # a kind of solution, not one of those shown
    if len(references) == 1 and (WANTS_DETAILS.search(text) or intent.name in ("new", "off_topic") and (
            short or QUESTION.search(text))):
        # "was ist LiSA in Marburg?", "wie geht das mit den Stromzählern in Duisburg?": about one shown result
        return Turn("details", references[0])
    if intent.name == "new":
        if intent.probability < MIN_NEW_TOPIC or (FOLLOW_UP_START.search(text) and intent.probability < MIN_NEW_PROBABILITY):
            # "eher was, das man ohne große Baumaßnahmen schnell umsetzen kann" (p 0.29): the thread stays
            return Turn("refine")
        return _new_or_refine(text, short)
    if intent.name == "refine":
        return Turn("refine")
    if intent.name == "context":
        return Turn("context")  # "wir sind eine Gemeinde mit 8000 Einwohnern": kept in the state
    if intent.name == "off_topic":
        return Turn("unclear")  # inside a conversation: ask back, keep the thread
    if intent.name == "help":  # a weak guess at "how does this work?" is more often small talk: ask back
        return Turn("help" if intent.probability >= MIN_HELP_PROBABILITY else "unclear")
    if intent.name in ("reset", "thanks", "greeting"):
        # A reset wipes the conversation, so only when the model is fairly sure; thanks and greetings are answered from
        # a template. A weaker guess goes to the runner-up.
        sure = MIN_RESET_PROBABILITY if intent.name == "reset" else MIN_CANNED_PROBABILITY
        if intent.probability >= sure and len(words) <= MAX_RESET_WORDS and not (intent.name == "thanks" and _asks_more(text)) \
                and (intent.name != "greeting" or GREETING_WORD.search(text)):
            return Turn(intent.name)  # type: ignore[arg-type]  # all three are turn kinds
        if intent.name == "greeting" and intent.probability >= MIN_OPENING_GREETING and len(words) <= MAX_GREETING_WORDS \
                and GREETING_WORD.search(" ".join(words[:GREETING_OPENS])):
            return Turn("greeting")  # "ach so, hallo erstmal, hab mich gar nicht vorgestellt, Klimaschutzmanagement LK"
        if intent.runner_up is not None and intent.runner_up.name not in ("reset", "thanks", "greeting"):
            return _follow_up(intent.runner_up, text, words, references)
        return Turn("unclear")
    if intent.name in ("status", "more"):
        return Turn(intent.name)  # type: ignore[arg-type]  # both are turn kinds
    if intent.name in ABOUT_ONE:
        return _about_one(intent.name, text, references)  # type: ignore[arg-type]  # ABOUT_ONE holds turn kinds
    return Turn("new")


def _opening(intent: Intent, text: str) -> Turn:
    """The first message, which the atlas would refuse: a greeting, thanks or a question about the assistant when the
    turn model is fairly sure (a greeting must say a greeting word), else a new challenge (refused as off-topic)."""
    if intent.name == "help" and intent.probability >= MIN_HELP_PROBABILITY:
        return Turn("help")
    if intent.name in ("greeting", "thanks") and intent.probability >= MIN_CANNED_PROBABILITY \
            and (intent.name == "thanks" or GREETING_WORD.search(text)):
        return Turn(intent.name)  # type: ignore[arg-type]  # both are turn kinds
    return Turn("new")


def _reads_as_new(message: str, intent_of: Callable[[str], Intent] | None) -> bool:
    """The turn model is sure the message is a challenge of its own (a new problem that happens to name a space type
    and say "auch": 0.86–0.90; follow-ups that restrict the topic: 0.42–0.68), and it does not point back at the
    topic ("Uns interessiert dabei vor allem, wie sich das auf die Geschäfte auswirkt")."""
    if intent_of is None or BACK_REFERENCE.search(message.lower()):
        return False
    intent = intent_of(message)
    return intent.name == "new" and intent.probability >= MIN_NEW_PROBABILITY


def _new_or_refine(text: str, short: bool) -> Turn:
    """A short message that points back ("gibt es da …", "sowas") or starts like a follow-up continues the topic;
    anything else is a new challenge."""
    if BACK_REFERENCE.search(text):
        return Turn("refine")  # "Uns interessiert dabei vor allem, wie sich das auf die Geschäfte vor Ort auswirkt"
    return Turn("refine" if short and (ANAPHORA.search(text) or FOLLOW_UP_START.search(text)) else "new")


def _asks_details(message: str) -> bool:
    """The message says it wants details ("Details zu Nummer 2", "mehr dazu", "die 2"): no model needs asking."""
    text = " ".join(message.lower().split())
    return any(pattern.search(text) for pattern in (WANTS_DETAILS, PATTERNS["details"], ORDINAL_ALONE))


def _details_or_similar(text: str, number: int) -> Turn:
    """A turn about one result by its number: similar results if the message asks for them, its costs or contact if it
    asks that ("Nummer 2 klingt gut, wurde das gefördert?", "number 4 looks good, who's the contact person?"), else its
    details."""
    if SIMILAR_WORD.search(text) or LIKE.search(text):
        return Turn("similar", number)  # "Mehr Beispiele wie Meißen?" right after Meißen's details
    if COSTS.search(text):
        return Turn("costs", number)
    return Turn("contact" if CONTACT.search(text) else "details", number)


def _opening_clause(text: str) -> str:
    """The message's first clause if it is a short one ("let's start over, …"), else nothing."""
    first = re.split(r"[,.;:!?–]", text, maxsplit=1)[0]
    return first if len(re.findall(r"\w+", first)) <= MAX_OPENING_CLAUSE_WORDS else ""


def _focus(state: ConversationState) -> int | None:
    """The result the last details answer was about, if it is still on screen."""
    return state.focus if state.focus and state.focus <= len(state.shown) else None


def _asks_more(text: str) -> bool:
    """A thank-you that goes on to ask for something ("danke, und gibt es auch was für Senioren")."""
    return bool(ASKS_MORE.search(FAREWELL.sub("", text)))


def _numbers(text: str) -> list[int]:
    """The result numbers a message names: ordinals and digits standing alone, then "Nummer 7"."""
    return [ORDINALS[m] for m in ORDINAL_ANY.findall(text)] + [int(m) for m in NUMBERED.findall(text)]


def _about_one(kind: TurnKind, text: str, references: tuple[int, ...]) -> Turn:
    """A question about one shown result: the one it names by number, place or title, else ask which (contact and
    costs may be about everything shown)."""
    if numbers := _numbers(text):
        return Turn(kind, numbers[0])  # "zeig mir die zweite genauer", "was kostet Nummer 3?"
    if len(references) == 1:
        return Turn(kind, references[0])
    if kind in ("contact", "costs", "since", "partners"):
        return Turn(kind)  # about everything shown ("was kostet so ein Mikrodepot?")
    if len(references) > 1:
        return Turn("which_one", candidates=references)
    return Turn("which_one")


def resolve_references(message: str, shown: list[RecordDict]) -> tuple[int, ...]:
    """The numbers of the shown results a message names by place, by words of the title or by the whole title
    ("Gieß den Kiez klingt spannend": a title of short words)."""
    tokens = set(_tokens(message))
    if not tokens or not shown:
        return ()
    words = " " + " ".join(re.findall(r"\w+", message.lower())) + " "
    scores = []
    for number, record in enumerate(shown, start=1):
        place = {t for t in _tokens(str(record.get("municipality", ""))) if t not in PLACE_WORDS and t not in FILLER}
        title = {t for t in _tokens(str(record.get("title", ""))) if len(t) >= MIN_TITLE_WORD and t not in TITLE_WORDS}
        whole = " ".join(re.findall(r"\w+", str(record.get("title", "")).lower()))
        hits = len(place & tokens) * 2 + sum(1 for t in title if any(_same_word(t, w) for w in tokens)) \
            + (WHOLE_TITLE if " " in whole and f" {whole} " in words else 0)
        scores.append((hits, number))
    best = max(score for score, _ in scores)
    return tuple(number for score, number in scores if score == best) if best else ()


class RecordNames:
    """Finds the one record of the whole atlas a message names by a rare word of its title or place ("was ist dieser
    Lärmomat in Berlin?", "gibts was Vergleichbares zu DIPAS?"), for questions about a solution that is not on screen.

    A word of a title or place names records when at most MAX_NAME_RECORDS records use it anywhere in their text:
    project names, acronyms and small towns, not the everyday words of planning ("Karte", "Lärm", "Quartier") that
    a new challenge or a question about everything shown uses; a town names its records when it has a few. Several
    records named equally well are left to the caller, which takes the one nearest the topic.
    """

    MAX_NAME_RECORDS = 2
    MAX_PLACE_RECORDS = 6  # a town with more records than this (Berlin, Hamburg) names none of them on its own

    def __init__(self, records: list[RecordDict]) -> None:
        self.ids = [str(r["id"]) for r in records]
        used: dict[str, set[int]] = {}  # word stem -> the records using it ("Plattform" and "Plattformen" alike)
        for row, record in enumerate(records):
            text = " ".join(str(record.get(f, "")) for f in ("title", "municipality", "summary", "description"))
            for word in set(_tokens(f"{text} {' '.join(record.get('challenges', []))}")):
                used.setdefault(stem(word), set()).add(row)
        self.names: dict[str, list[int]] = {}
        places: dict[str, list[int]] = {}  # a town names its few records ("Was hat Einbeck genau gemacht?")
        for row, record in enumerate(records):
            for word in set(_tokens(f"{record.get('title', '')} {record.get('municipality', '')}")):
                if len(word) >= 4 and word not in STOPWORDS and word not in FILLER and word not in PLACE_WORDS \
                        and word not in TITLE_WORDS and len(used[stem(word)]) <= self.MAX_NAME_RECORDS:
                    self.names.setdefault(word, []).append(row)
            for word in set(_tokens(str(record.get("municipality", "")))):
                if word not in STOPWORDS and word not in FILLER and word not in PLACE_WORDS:
                    places.setdefault(word, []).append(row)
        for word, rows in places.items():
            if len(rows) <= self.MAX_PLACE_RECORDS:
                self.names[word] = sorted(set(self.names.get(word, [])) | set(rows))
        self.by_start: dict[str, list[str]] = {}  # names by their first letters, for inflected forms
        for word in self.names:
            self.by_start.setdefault(word[:NAME_START], []).append(word)

    def named(self, message: str) -> list[str]:
        """The ids of the records the message names best (more than one on a tie; none if it names none)."""
        scores: dict[int, int] = {}
        for token in set(_tokens(message)):
            words = {token} & self.names.keys() if len(token) < MIN_TITLE_WORD else \
                {w for w in self.by_start.get(token[:NAME_START], ()) if (len(w) >= MIN_TITLE_WORD or w == token) and _same_word(w, token)}
            for word in words:
                for row in self.names[word]:
                    scores[row] = scores.get(row, 0) + 1
        best = max(scores.values(), default=0)
        return [self.ids[row] for row, score in sorted(scores.items()) if score == best]


PLACE_WORDS = frozenset("landkreis kreis stadt gemeinde region und u a modellstädte modellstaedte am an der im in bei vier "
                        "drei zwei mehrere kommunen quartier ile land".split())
TITLE_WORDS = frozenset("digitale digitaler digitales digital smarte smarter smart plattform stadt quartier innenstadt "
                        "gewerbegebiet projekt lösung loesung".split())
MIN_TITLE_WORD = 6
WHOLE_TITLE = 10  # a message that quotes a title names that result, whatever else it shares with others
NAME_START = MIN_TITLE_WORD - 1  # _same_word needs both words this long, so they share this many first letters


def _tokens(text: str) -> list[str]:
    return [t for t in re.findall(r"\w+", text.lower()) if len(t) >= 3]


def _same_word(a: str, b: str) -> bool:
    """Title word and message word are the same word, give or take an inflection ending ("Plattform"/"Plattformen")."""
    if len(b) < MIN_TITLE_WORD - 1:
        return False
    return a == b or (a.startswith(b) and len(a) - len(b) <= 3) or (b.startswith(a) and len(b) - len(a) <= 3)


FILLER = frozenset("als statt nicht sondern than instead not mich mein meine meinen "
                   "und aber eher lieber auch was ist mit wie wäre es im in der die das den dem ein eine einem einer für zum zur "
                   "bei uns unser unserem unseren bitte nur mal bloß and but rather what about how the a an in for our please "
                   "or only just ones one those these them jene diejenigen es geht ums um its is".split())


# "A rather than B" / "A statt B" names A; "nicht B, sondern A" names A.
# "nur Wohnquartiere bitte, keine Innenstädte", "not the traffic itself": what is named only to be ruled out.
RULED_OUT = re.compile(r"\b(kein\w*|nicht (die|das|den|der|im|in der|in den|so sehr)?|not (the|in|so much)?|no|ohne|without)"
                       r"(\s+(ganze[nmrs]?|gesamte[nmrs]?|whole|entire))?\s+\w+[-\w]*|"  # "not the whole city"
                       # "…, Innenstadt bringt mir nix", "city centre is irrelevant for us"
                       r"\b\w+[-\w]*\s+(bringt|bringen|hilft|helfen|nützt|nützen|interessiert|interessieren)\s+(mir|uns)\s+"
                       r"(nix|nichts|gar nichts|wenig)\b|\b\w+[-\w]*\s+(ist|sind|is|are)\s+(egal|irrelevant|uninteressant|not relevant)\b",
                       re.I)
RATHER_THAN = re.compile(r"\b(als|statt|anstatt|anstelle|instead of|rather than|not|nicht)\b", re.I)
BUT_RATHER = re.compile(r"\b(sondern|but rather)\b", re.I)


def _preferred_part(message: str) -> str:
    """The part of a message that names what the planner wants, when it contrasts two things."""
    if match := BUT_RATHER.search(message):
        return message[match.end():]
    if (rest := RULED_OUT.sub(" ", message)) != message and rest.strip(" ,.;!?"):
        return rest
    if match := RATHER_THAN.search(message):
        return message[: match.start()]
    return message


def _facet(text: str, words: list[str], facet_words: frozenset[str], marker: re.Pattern[str], max_rest: int) -> str | None:
    """Whether a message that names a space type or theme restricts the running topic to it: "only" when it says
    little else (at most ``max_rest`` other words: "und im Gewerbegebiet?"), "refines" when a marker says it is a
    follow-up that also says more about the topic ("gilt das auch für Gewerbegebiete? da haben wir die größten
    Dachflächen"); None for a new challenge."""
    # What the message rules out says nothing new about the topic: "In der Innenstadt bitte, nicht Parks oder Friedhöfe."
    kept = re.findall(r"\w+", NEGATED_PART.sub(" ", text))
    rest = [w for w in kept if w not in FILLER and w not in FILTER_WORDS and w not in facet_words]
    if len(rest) <= max_rest and len(words) <= MAX_FACET_WORDS:
        return "only"
    if len(words) <= MAX_MARKED_FACET_WORDS and marker.search(text):
        return "refines" if len(rest) > 1 else "only"
    return None


RESULT_TEMPLATES: dict[str, str] = {"more": "more", "status": "status", "space_type": "space_type", "theme": "theme",
                                    "context": "context"}


@dataclass
class _TurnInput:
    """One turn, understood: the request, the state with the request's facets merged in, and the classification."""

    request: ChatRequest
    state: ConversationState
    presenter: Presenter
    spaces: list[str]
    themes: list[str]
    status: str | None
    turn: Turn
    notes: dict[str, bool] = field(default_factory=dict)


class Conversation:
    """Answers one chat turn. Holds no per-user data: everything comes in with the request."""

    def __init__(self, searcher: Searcher, presenters: dict[str, Presenter], limit: int = 5,
                 intents: IntentClassifier | None = None, max_challenge_chars: int = 2000) -> None:
        self.searcher = searcher
        self.presenters = presenters
        self.limit = limit
        self.intents = intents
        self.max_challenge_chars = max_challenge_chars
        self.names = RecordNames(searcher.artifact.records)

    def reply(self, request: ChatRequest) -> ChatResponse:
        turn_in = self._understand(request)
        handler = self._HANDLERS.get(turn_in.turn.kind, Conversation._search_turn)
        response = handler(self, turn_in)
        response.turn = turn_in.turn.kind
        return response

    def _understand(self, request: ChatRequest) -> _TurnInput:
        """Merge the request's facets into the state, pick the language and classify the message."""
        state = request.state or ConversationState()
        known = [rid for rid in state.shown if self.searcher.get(rid) is not None]
        stale = len(known) < len(state.shown)
        update: dict[str, object] = {"shown": known}
        if request.space_type:
            update["space_type"] = request.space_type
        if request.themes:
            update["themes"] = list(request.themes)
        if request.status:
            update["status"] = list(request.status)
        if request.land:
            update["land"] = request.land
        if request.size_class:
            update["size_class"] = request.size_class
        detected_language = detect_language(request.message, state.language)
        language = detected_language if detected_language in self.presenters else "de"
        update["language"] = language
        state = state.model_copy(update=update)
        understanding = self.searcher.understanding
        spaces = understanding.detect_space_types(request.message)
        if len(spaces) > 1:  # "eher Gewerbegebiet als Innenstadt", "nicht die Innenstadt, sondern das Quartier"
            spaces = understanding.detect_space_types(_preferred_part(request.message)) or spaces
        # Where the message says it is about a theme, a compound a theme's name leads counts too ("eher mit Fokus auf
        # Tourismuslenkung", "wenn's eher ums Sicherheitsgefühl geht").
        themes = understanding.detect_theme_names(request.message, compounds=bool(THEME_WORD.search(request.message.lower())))
        if len(themes) > 1:  # "focus on the air and the noise please, not the traffic itself"
            themes = understanding.detect_theme_names(_preferred_part(request.message)) or themes
        status = understanding.detect_status(request.message)
        facet_words = understanding.facet_words(request.message) if spaces or themes else frozenset()
        shown = [record for rid in state.shown if (record := self.searcher.get(rid)) is not None]
        references = resolve_references(request.message, shown)
        named = self._named(request.message, state) if state.challenge and not references else None
        if named is not None:
            references = (named[0],)
        intent_of = self._intent_of(state)
        turn = classify(request.message, state, spaces, themes, intent_of, references, status, facet_words)
        if turn.kind == "which_one" and not turn.candidates and (focus := _focus(state)):
            # "und wo genau war das?", "gibts noch was ähnliches wie das?" right after the details of one result
            turn = _details_or_similar(request.message.lower(), focus)
        if named is not None and turn.number == named[0] > len(state.shown):
            # A solution of the atlas that was not on screen, named in a question about it: it joins the list.
            state = state.model_copy(update={"shown": [*state.shown, named[1]]})
        text = " ".join(request.message.lower().split())
        parts = cache(lambda: self.searcher.components(request.message, []))  # the domain detector, asked at most once
        if not state.challenge and turn.kind == "new" and intent_of is not None and parts().on_topic < MIN_OPENING_ON_TOPIC:
            # Before any topic, a message the atlas would refuse may be a greeting or a question about the assistant
            # ("Hej! What can this tool actually do – can I search German projects here?"): answered, not refused.
            turn = _opening(intent_of(request.message), text)
        if turn.kind == "unclear" and not self.searcher.refuses(parts()) and not (
                intent_of is not None and (intent := intent_of(request.message)).name == "off_topic"
                and intent.probability >= MIN_SMALL_TALK_PROBABILITY):
            # The turn classifier took it for small talk, unsure, and the domain detector sees a planning question.
            turn = _new_or_refine(text, len(text.split()) <= MAX_FOLLOW_UP_WORDS)
        # … unless a rule found a question about what is shown ("Weißt du, ob sowas über Bundesförderung finanziert wurde?")
        if state.challenge and turn.kind not in ("reset", "greeting", "thanks", "help") and ASIDE.search(text) \
                and turn.number is None and not any(pattern.search(text) for _, pattern in ABOUT_SHOWN) \
                and parts().on_topic < MIN_ASIDE_ON_TOPIC:
            turn = Turn("unclear")  # an aside the planner marks as one: keep the thread, ask back
        return _TurnInput(request=request, state=state, presenter=self.presenters[language], spaces=spaces, themes=themes,
                          status=status, turn=turn,
                          notes={"stale": stale, "other_language": detected_language not in self.presenters})

    def _named(self, message: str, state: ConversationState) -> tuple[int, str] | None:
        """A solution of the atlas named in a question about it: the number it has on screen, or would get when added
        to what is shown, and its id."""
        text = " ".join(message.lower().split())
        if FOLLOW_UP_START.search(text) or not ABOUT_NAMED.search(text) or len(state.shown) >= MAX_SHOWN:
            return None
        candidates = self.names.named(message)
        if not candidates or len(candidates) > MAX_NAMED_CANDIDATES:
            return None
        # On a tie ("the Bad Vilbel portal": a place and a title word of two records; "Einbeck": a town with four),
        # the one nearest the topic.
        record_id = self.searcher.nearest(candidates, state.challenge)
        number = state.shown.index(record_id) + 1 if record_id in state.shown else len(state.shown) + 1
        return number, record_id

    # Turns answered from a template alone, without a search.
    def _no_topic(self, t: _TurnInput) -> ChatResponse:
        return self._respond(t.presenter, t.state, "unknown_number", [], notes=t.notes, number=0,
                             suggestions=t.presenter.starter_suggestions())

    def _canned(self, t: _TurnInput) -> ChatResponse:
        return self._respond(t.presenter, t.state, t.turn.kind, [], notes=t.notes, suggestions=t.presenter.starter_suggestions())

    def _reset(self, t: _TurnInput) -> ChatResponse:
        fresh = ConversationState(language=t.state.language)
        return self._respond(t.presenter, fresh, "reset", [], notes=t.notes, suggestions=t.presenter.starter_suggestions())

    def _numbered(self, t: _TurnInput) -> ChatResponse:
        return self._about_number(t.presenter, t.state, t.turn, t.notes)

    def _about_shown(self, t: _TurnInput) -> ChatResponse:
        """Contact, costs, since when or partners: answered from the records on screen (one, if the message names it),
        never invented."""
        state, presenter, turn = t.state, t.presenter, t.turn
        if turn.number is not None and turn.number > len(state.shown):
            return self._respond(presenter, state, "unknown_number", [], notes=t.notes, number=turn.number,
                                 suggestions=presenter.result_suggestions(state, False))
        one = turn.number or _focus(state)
        numbers = [one] if one else list(range(1, len(state.shown) + 1))[-self.limit:]
        entries = [presenter.entry(number, record) for number in numbers
                   if (record := self.searcher.get(state.shown[number - 1])) is not None]
        if turn.kind == "contact":
            for entry in entries:  # municipalities that did something similar: peers to ask, too
                entry["peers"] = self._peers(entry["record"])
        return self._respond(presenter, state, turn.kind, [], notes=t.notes, entries=entries,
                             suggestions=presenter.result_suggestions(state, False))

    def _peers(self, record: RecordDict, limit: int = 3) -> list[str]:
        """Other municipalities whose records are closest to this one (each named once)."""
        peers: list[str] = []
        for hit in self.searcher.similar(record["id"], limit=limit * 3).hits:
            place = str(hit.record["municipality"])
            if place != record["municipality"] and place not in peers:
                peers.append(place)
        return peers[:limit]

    def _unclear(self, t: _TurnInput) -> ChatResponse:
        """A message inside a conversation that is neither a follow-up nor a planning challenge: keep everything shown
        and ask back with what the planner may have meant."""
        state, presenter = t.state, t.presenter
        chips = [presenter.chip("details", number=1), presenter.chip("cheaper"), presenter.chip("reset")] if state.shown \
            else [presenter.chip("reset")]
        record = self.searcher.get(state.shown[0]) if state.shown else None
        return self._respond(presenter, state, "unclear", [], notes=t.notes, record=record, suggestions=chips)

    def _which_one(self, t: _TurnInput) -> ChatResponse:
        """The message asks about one result but does not say which (or names several): ask back."""
        state, presenter = t.state, t.presenter
        numbers = list(t.turn.candidates) or list(range(1, len(state.shown) + 1))[-self.limit:]
        entries = [presenter.entry(number, record) for number in numbers
                   if (record := self.searcher.get(state.shown[number - 1])) is not None]
        return self._respond(presenter, state, "which_one", [], notes=t.notes, entries=entries,
                             suggestions=[presenter.details_chip(e["number"]) for e in entries])

    def _refined(self, challenge: str, addition: str) -> str:
        """The topic plus the planner's refinement, kept within the length a state may carry (the start of the topic
        and the newest refinement are kept; older refinements in between are shortened)."""
        combined = f"{challenge} {addition}"
        if len(combined) <= self.max_challenge_chars:
            return combined
        room = max(0, self.max_challenge_chars - len(addition) - 2)
        return f"{challenge[:room].rstrip()} {addition}"[: self.max_challenge_chars]

    def _intent_of(self, state: ConversationState) -> Callable[[str], Intent] | None:
        """The turn classifier, for the follow-ups the rules leave to it."""
        intents = self.intents
        if intents is None or not hasattr(self.searcher.embedder, "cache_size"):
            return intents.classify if intents is not None else None

        @cache  # the rules may ask twice in one turn (_reads_as_new, then _follow_up)
        def classify_prefetched(message: str) -> Intent:
            # One forward pass for the message (the classifier's input), the message as a new topic and the topic
            # refined by it (what a new topic or a refinement searches, each as the search encodes it); the
            # service's batcher keeps the vectors, so none is encoded twice.
            refined = self.searcher.respell(self._refined(state.challenge, message.strip()))
            topic = self.searcher.respell(message.strip())
            self.searcher.embedder.encode_queries(
                [message, *self.searcher.encoded_texts(topic), *self.searcher.encoded_texts(refined)])
            return intents.classify(message)

        return classify_prefetched

    @staticmethod
    def _context(known: str, addition: str) -> str:
        """What the planner said about their municipality, newest last, within the state's limit."""
        combined = f"{known} {addition}".strip() if addition not in known else known
        return combined[-MAX_CONTEXT_CHARS:]

    def _next_state(self, t: _TurnInput) -> ConversationState:
        """The search state after this turn: a new topic, or the current one changed as the planner asked."""
        state, request, kind = t.state, t.request, t.turn.kind
        if kind == "new":
            return ConversationState(challenge=request.message.strip(), language=state.language, context=state.context,
                                     space_type=request.space_type or (t.spaces[0] if len(t.spaces) == 1 else None),
                                     themes=list(request.themes), status=list(request.status), land=request.land,
                                     size_class=request.size_class)
        changes: dict[str, dict[str, object]] = {
            "refine": {"challenge": self._refined(state.challenge, request.message.strip()), "shown": []},
            "context": {"context": self._context(state.context, request.message.strip()), "shown": []},
            "space_type": {"space_type": t.spaces[0] if t.spaces else state.space_type, "shown": []},
            "theme": {"themes": t.themes, "shown": []},
            # the status the message names; a status question naming none ("sind die schon über den Test hinaus?")
            # asks for regular operation
            "status": {"status": [t.status or "verstetigt"], "shown": []},
        }
        if kind in ("space_type", "theme") and t.turn.refines:  # "eher die Datenseite, also LoRaWAN und Messwerte"
            changes[kind]["challenge"] = self._refined(state.challenge, request.message.strip())
        if kind == "refine" and municipality_preference(request.message).size_classes:
            # "gibt es sowas auch in kleineren Gemeinden unter 10.000 Einwohnern?": the size is kept with what the
            # planner said about the place, so solutions from towns of that size come first (the words alone did not)
            changes[kind]["context"] = self._context(state.context, request.message.strip())
        return state.model_copy(update=changes[kind]) if kind in changes else state

    def _search_turn(self, t: _TurnInput) -> ChatResponse:
        """New topic, refinement, facet change or "more": search and answer with results."""
        presenter, kind = t.presenter, t.turn.kind
        state = self._next_state(t)
        exclude = set(state.shown) if kind == "more" else None
        if exclude is not None and len(exclude) >= MAX_SHOWN:
            exclude = None  # start the list again rather than grow the state without bound
        result = self._search(state, exclude)
        typed = set(SURFACE_WORD.findall(t.request.message))
        result.corrections = [c for c in result.corrections if c[0] in typed]  # earlier turns' words were noted then
        if result.no_match and kind != "more":
            # Nothing fits this turn, but the thread stays: the previous topic and results remain in the state.
            kept = t.state if t.state.challenge else state
            return self._respond(presenter, kept, "no_match", [], result=result, notes=t.notes,
                                 suggestions=presenter.theme_suggestions())
        items = presenter.items(result, offset=len(state.shown) if exclude else 0)
        shown = ((state.shown if exclude else []) + [i.id for i in items])[-MAX_SHOWN:]
        ask = self._should_ask_space_type(state, result, t.spaces, t.request)
        state = state.model_copy(update={"shown": shown, "asked_space_type": state.asked_space_type or ask, "focus": None})
        template = "ask_space_type" if ask else RESULT_TEMPLATES.get(kind, "answer")
        notes = t.notes | {"preferred": state.context != t.state.context and kind == "refine"}
        return self._respond(presenter, state, template, items, result=result, notes=notes,
                             said=t.request.message.strip(), suggestions=presenter.result_suggestions(state, ask))

    _HANDLERS: dict[str, Callable[[Conversation, _TurnInput], ChatResponse]] = {
        "no_topic": _no_topic, "greeting": _canned, "thanks": _canned, "help": _canned, "empty": _canned,
        "reset": _reset, "details": _numbered, "similar": _numbered, "contact": _about_shown, "costs": _about_shown,
        "since": _about_shown, "partners": _about_shown,
        "which_one": _which_one, "unclear": _unclear,
    }

    def _search(self, state: ConversationState, exclude: set[str] | None) -> SearchResult:
        query = state.challenge
        # What the planner said about their municipality puts solutions from towns like theirs first (same size
        # class, same Land) among the best matches; the Land and size facets filter strictly.
        prefer = municipality_preference(state.context) if state.context else None
        if state.themes:
            labels = [self.presenters["de"].label("themes", t) for t in state.themes]
            query = f"{query} ({', '.join(labels)})"  # the theme shifts the meaning, the filter narrows

        def run(themes: list[str] | None) -> SearchResult:
            return self.searcher.search(query, limit=self.limit, space_type=state.space_type, themes=themes,
                                        status=state.status or None, exclude=exclude, land=state.land,
                                        size_class=state.size_class, prefer=prefer or None,
                                        depth=STATUS_DEPTH * self.limit if state.status else None)

        result = run(state.themes or None)
        if not result.hits and state.themes and not result.no_match:
            result = run(None)
        return result

    @staticmethod
    def _should_ask_space_type(state: ConversationState, result: SearchResult, spaces: list[str], request: ChatRequest) -> bool:
        if state.asked_space_type or state.space_type or spaces or request.space_type or not result.hits:
            return False
        covered = {s for hit in result.hits for s in hit.record["space_types"]}
        return len(covered) > 1

    def _about_number(self, presenter: Presenter, state: ConversationState, turn: Turn, notes: dict[str, bool]) -> ChatResponse:
        number = turn.number or 1
        if number > len(state.shown):
            return self._respond(presenter, state, "unknown_number", [], notes=notes, number=number,
                                 suggestions=presenter.result_suggestions(state, False))
        record_id = state.shown[number - 1]
        if turn.kind == "details":
            record = self.searcher.get(record_id)
            hit = self.searcher.hit_for(record_id, state.challenge)
            item = presenter.item(hit, state.space_type, number)
            state = state.model_copy(update={"focus": number})  # "wer ist da Ansprechpartner?" is about this one now
            return self._respond(presenter, state, "details", [item], notes=notes, record=record, number=number,
                                 suggestions=presenter.result_suggestions(state, False))
        result = self.searcher.similar(record_id, limit=self.limit, exclude=set(state.shown),
                                       space_type=state.space_type)
        items = presenter.items(result)
        reference = self.searcher.get(record_id)
        # The similar ones are numbered afresh, so "Details zu Nummer 2" refers to what is on screen now.
        state = state.model_copy(update={"shown": [i.id for i in items], "focus": None})
        return self._respond(presenter, state, "similar", items, notes=notes, record=reference, number=number,
                             suggestions=presenter.result_suggestions(state, False))

    def _respond(self, presenter: Presenter, state: ConversationState, template: str, items: list[ResultItem],
                 suggestions: list[Suggestion], notes: dict[str, bool], result: SearchResult | None = None,
                 **context: object) -> ChatResponse:
        message = presenter.message(template, items=items, state=state, result=result, notes=notes, **context)
        return ChatResponse(
            message=message, results=items, suggestions=suggestions, state=state,
            no_match=bool(result and result.no_match),
            detected_space_types=result.detected_space_types if result else [],
            language=state.language,
        )
