"""Phrase banks for the SYNTHETIC sample consultation (see :mod:`analysis.sample`).

Every text here was written for this toolkit; none is a real submission. Theme sentences are
templates: ``{slot}`` placeholders are filled from :data:`SLOTS` at random, so one template yields many
phrasings. Each theme sentence carries a *lean*:

- ``"+"``: the cautious side (strong safeguards, narrow scope, inclusive process);
- ``"-"``: the enforcement side (broad scope, faster evidence sharing, get on with it);
- ``"0"``: no lean (a question, a mixed view, a request).

Vocabulary overlaps between themes on purpose (privacy, rights, data, cooperation, Māori...), so the
sample cannot be separated by a few keywords.
"""

from __future__ import annotations

#: Synonym slots used by the templates.
SLOTS: dict[str, list[str]] = {
    "conv": [
        "the convention", "the treaty", "this convention", "the proposed treaty", "a UN cybercrime treaty",
        "the new convention", "any UN convention on cybercrime", "the cybercrime treaty", "the UN treaty",
    ],
    "nz": [
        "New Zealand", "NZ", "Aotearoa", "the Government", "MFAT", "our negotiators",
        "New Zealand's delegation", "the NZ government",
    ],
    "must": ["must", "should", "needs to", "has to", "ought to"],
    "mustnot": ["must not", "should not", "mustn't", "cannot be allowed to"],
    "rights": [
        "human rights", "fundamental rights", "civil liberties", "basic rights and freedoms", "people's rights",
    ],
    "privacy": ["privacy", "personal privacy", "data protection", "the privacy of ordinary people"],
    "police": [
        "law enforcement", "the police", "police and security agencies", "investigators",
        "enforcement agencies",
    ],
    "govts": [
        "authoritarian governments", "repressive regimes", "some governments",
        "states with poor human rights records", "autocratic states",
    ],
    "crime": ["cybercrime", "online crime", "computer crime", "cyber offending", "crime online"],
    "data": ["data", "personal information", "electronic evidence", "people's data", "our data"],
    "worry": ["I worry", "I'm concerned", "My concern is", "I am worried", "It worries me"],
    "important": ["important", "vital", "essential", "crucial", "critical"],
}

#: Theme codebook: id -> (label, description).
CODEBOOK: dict[str, tuple[str, str]] = {
    "human_rights": (
        "Human rights and privacy safeguards",
        "The convention must protect human rights and privacy: necessity, proportionality, judicial oversight.",
    ),
    "misuse_speech": (
        "Authoritarian misuse and free speech",
        "Risk that states use the treaty to criminalise speech, protest or journalism, or to target dissidents.",
    ),
    "scope": (
        "Scope and definitions of cybercrime",
        "How broad the list of offences should be (core cyber-dependent crimes vs cyber-enabled and content "
        "offences) and how precisely offences are defined.",
    ),
    "budapest": (
        "Consistency with the Budapest Convention and existing law",
        "Build on / do not undercut the Budapest Convention, international law and New Zealand law.",
    ),
    "data_access": (
        "Cross-border data access and law-enforcement powers",
        "Access to electronic evidence across borders, mutual legal assistance, interception, warrants.",
    ),
    "multistakeholder": (
        "Inclusive, transparent negotiations",
        "Civil society, industry, experts and the public involved; drafts published; ongoing consultation.",
    ),
    "te_tiriti": (
        "Te Tiriti o Waitangi and Māori data sovereignty",
        "Crown obligations under Te Tiriti, Māori as partners, Māori data as taonga.",
    ),
    "pacific_capacity": (
        "Pacific and developing-country capacity building",
        "Help Pacific and developing states with laws, skills and technology to respond to cybercrime.",
    ),
    "cooperation": (
        "Support for international cooperation against cybercrime",
        "Cybercrime is global and needs countries to work together; scams and ransomware cross borders.",
    ),
    "other": (
        "Off-topic / other",
        "Comments about the consultation process, unrelated policy issues, requests.",
    ),
}

#: Theme sentences: theme id -> list of (lean, template).
THEMES: dict[str, list[tuple[str, str]]] = {
    "human_rights": [
        ("+", "{conv} {must} include strong safeguards for {rights} and {privacy}."),
        ("+", "Protections for {rights} are not optional."),
        ("+", "Any new powers {must} be balanced by {privacy} safeguards and independent oversight."),
        ("+", "{Rights} and {privacy} are the foundation here, everything else comes after."),
        ("+", "I want to see necessity and proportionality tests written into the text."),
        ("+", "Safeguards like judicial warrants, oversight and a right to challenge decisions are {important}."),
        ("+", "It is {important} that {privacy} is protected, especially as more of our lives move online."),
        ("+", "Protecting {rights} online is just as {important} as protecting them offline."),
        ("+", "The text should refer explicitly to the International Covenant on Civil and Political Rights."),
        ("0", "{Privacy} matters, but so does catching criminals."),
        ("0", "What happens to {privacy} when {data} is shared between countries?"),
        ("0", "{Rights} have to be weighed against the harm that {crime} does to victims."),
        ("-", "Too many safeguards could make {conv} unworkable for {police}."),
        ("-", "{Privacy} rules should not become a shield for criminals."),
        ("-", "Our existing human rights laws are enough; the treaty does not need to repeat them."),
    ],
    "misuse_speech": [
        ("+", "{Govts} could use {conv} to go after journalists, activists and dissidents."),
        ("+", "{worry} that 'cybercrime' will be defined so loosely that it covers criticism of governments."),
        ("+", "Freedom of expression online {mustnot} be undermined by this treaty."),
        ("+", "Some of the countries pushing for this treaty jail people for social media posts."),
        ("+", "There is a real risk of {conv} being used to legitimise censorship."),
        ("+", "Laws against 'extremism' or 'false information' are routinely abused to silence critics."),
        ("+", "{nz} should not sign up to anything that helps {govts} persecute human rights defenders."),
        ("+", "Online speech, protest and satire are not crimes."),
        ("+", "{worry} about New Zealanders being targeted overseas for what they say online."),
        ("0", "We need to be careful who we cooperate with and what they will do with the information."),
        ("0", "Free speech is {important}, but online abuse and threats are real problems too."),
        ("-", "The fear of misuse is overstated, since the treaty can include a refusal ground for political cases."),
        ("-", "We can't let the bad behaviour of a few {govts} stop everyone else from cooperating."),
    ],
    "scope": [
        ("+", "{conv} {must} be limited to core cyber-dependent crimes like hacking, malware and ransomware."),
        ("+", "Content-related offences do not belong in a cybercrime treaty."),
        ("+", "Definitions {must} be precise, because vague terms will be abused."),
        ("+", "A narrow scope focused on attacks against computer systems is the only workable approach."),
        ("+", "Crimes that simply involve a computer, like fraud, are already covered by existing laws."),
        ("+", "Keep it narrow: hacking, data interference, system interference and the like."),
        ("+", "The list of offences is far too broad and would sweep in ordinary online activity."),
        ("+", "Security researchers and penetration testers {mustnot} be criminalised for good-faith work."),
        ("0", "Whatever the scope, the offences need to be clearly defined."),
        ("0", "It is not clear from the document which offences would actually be included."),
        ("-", "Online fraud and scams hurt far more New Zealanders than hacking does, so they should be covered."),
        ("-", "Limiting the treaty to hacking would leave out child exploitation and online fraud."),
        ("-", "A broader scope would let countries cooperate on the crimes that actually affect people."),
        ("-", "Cyber-enabled crimes like romance scams and sextortion are growing fast and need a global response."),
    ],
    "budapest": [
        ("+", "{nz} has already joined the Budapest Convention, and {conv} {mustnot} undercut it."),
        ("+", "We don't need a parallel regime that competes with the Budapest Convention."),
        ("+", "Build on existing frameworks such as the Budapest Convention rather than starting again."),
        ("+", "It should be consistent with our own law, including the Bill of Rights Act and the Privacy Act."),
        ("+", "Consistency with international human rights law and the Budapest Convention should be non-negotiable."),
        ("0", "The Budapest Convention is a good model but it is not perfect."),
        ("0", "I would like to see a clear explanation of how this fits with the Budapest Convention."),
        ("0", "Having two overlapping treaties would create confusion for {police} and businesses."),
        ("-", "The Budapest Convention was written by a small group of countries; a UN treaty can include everyone."),
        ("-", "Existing frameworks are outdated and do not cover newer types of offending."),
        ("-", "We shouldn't be tied to a twenty-year-old European agreement."),
    ],
    "data_access": [
        ("+", "Foreign {police} should not get direct access to data held about New Zealanders."),
        ("+", "Requests for {data} from overseas {must} require a warrant from a New Zealand judge."),
        ("+", "Real-time interception and data retention powers go too far."),
        ("+", "Tech companies should not be forced to hand over {data} to any government that asks."),
        ("+", "There must be dual criminality, so no help for investigations into acts that are legal here."),
        ("0", "How {data} is shared across borders needs much clearer rules."),
        ("0", "Mutual legal assistance should be modernised, with safeguards."),
        ("0", "Who decides when {police} from another country can ask for {data} held here?"),
        ("-", "Investigators need faster access to {data} held offshore, current mutual legal assistance takes months."),
        ("-", "Criminals use servers in other countries, so {police} need cross-border access to evidence."),
        ("-", "Faster evidence sharing would help catch scammers targeting elderly New Zealanders."),
    ],
    "multistakeholder": [
        ("+", "Civil society, industry and the technical community {must} have a seat at the table."),
        ("+", "The negotiations should be transparent, with draft texts published for comment."),
        ("+", "{nz} should keep consulting the public as the negotiations progress."),
        ("+", "Decisions about the internet shouldn't be made by governments alone."),
        ("+", "I appreciate being asked, but consultation has to be ongoing, not one-off."),
        ("+", "Include experts: security researchers, academics and tech companies know how this works in practice."),
        ("+", "Māori, Pacific communities and civil society groups {must} be part of the process."),
        ("0", "Please report back on what you heard in this consultation."),
        ("0", "It would help to know who else {nz} is talking to about this."),
        ("-", "Treaty negotiations are the job of governments; too many voices will slow everything down."),
        ("-", "Consulting everyone is fine but it should not delay the treaty."),
    ],
    "te_tiriti": [
        ("+", "The Crown has obligations under Te Tiriti o Waitangi that apply to these negotiations."),
        ("+", "Māori data is a taonga and Māori data sovereignty {must} be respected."),
        ("+", "Iwi and Māori {must} be partners in the negotiations, not just consulted."),
        ("+", "Any sharing of Māori data offshore raises serious Te Tiriti issues."),
        ("+", "Te Tiriti o Waitangi should guide {nz}'s position in these negotiations."),
        ("+", "Māori communities are already over-policed, and new powers could make that worse."),
        ("+", "Principles like kaitiakitanga and tino rangatiratanga apply to data too."),
        ("0", "I'm not sure how Te Tiriti applies to an international treaty, but it should be considered."),
        ("-", "Te Tiriti is a domestic matter and shouldn't drive our position on an international treaty."),
    ],
    "pacific_capacity": [
        ("0", "{nz} should help Pacific countries build the capacity to fight {crime}."),
        ("0", "Capacity building for small Pacific states should be a priority."),
        ("0", "Many Pacific nations lack the laws and technical expertise to respond to {crime}."),
        ("+", "Capacity building {must} come with human rights training, not just surveillance technology."),
        ("0", "We should support our Pacific neighbours with funding, training and technical help."),
        ("0", "Developing countries need help to implement any treaty, or it will be meaningless."),
        ("+", "Pacific voices should be heard in the negotiations, not spoken for."),
        ("-", "{crime} in the Pacific affects New Zealand too, so investing in our neighbours' police makes sense."),
    ],
    "cooperation": [
        ("-", "{Crime} is global, so we need a global agreement to tackle it."),
        ("-", "I support {nz} working with other countries to fight {crime}."),
        ("-", "Ransomware gangs operate across borders and only international cooperation will stop them."),
        ("-", "A UN treaty could bring in countries that will never join the Budapest Convention."),
        ("-", "Criminals exploit gaps between countries' laws, and a common framework closes those gaps."),
        ("-", "Scams cost New Zealanders millions every year, so we need all the help we can get."),
        ("-", "My parents were scammed online and the police said nothing could be done because the scammers were overseas."),
        ("-", "It's {important} that {nz} is at the table rather than leaving it to others."),
        ("0", "Cooperation is good in principle, as long as it comes with safeguards."),
        ("+", "Cooperation should only be with countries that respect the rule of law."),
    ],
    "other": [
        ("0", "The survey was quite hard to follow without more background information."),
        ("0", "Why is the government spending time on this when there is a housing crisis?"),
        ("0", "Please fix the broadband in rural areas first."),
        ("0", "I didn't really understand the question."),
        ("0", "More plain-English information would help people respond."),
        ("0", "I'm sick of being asked for my opinion and then ignored."),
        ("0", "The consultation period was too short."),
        ("0", "Covid should be the priority right now."),
        ("0", "Can you send me a copy of the final report?"),
        ("0", "Nothing to do with this really, but the MFAT website is terrible on mobile."),
        ("0", "Our council rates keep going up and nobody listens."),
        ("0", "I only heard about this consultation by accident."),
    ],
}

#: Generic stance openers and closers (question-agnostic).
OPENERS: dict[str, list[str]] = {
    "support": [
        "I agree.", "Agree.", "Strongly agree.", "Yes.", "Yes, absolutely.", "I support this principle.",
        "Fully support this.", "This is the right approach.", "Agreed.", "Definitely.",
        "I agree with this principle.", "Totally agree -", "100% agree.", "Yes, I'm in favour of this.",
    ],
    "oppose": [
        "I disagree.", "Disagree.", "Strongly disagree.", "No.", "I don't agree with this.",
        "I can't support this principle.", "This is the wrong approach.", "Absolutely not.",
        "Not convinced at all.", "I'm against this.", "No, I oppose this.",
    ],
    "neutral": [
        "I'm neither for nor against this.", "It depends.", "Partly agree and partly disagree.",
        "There are good arguments both ways.", "I'm on the fence.", "Neutral on this one.",
        "Mixed feelings about this.",
    ],
    "unsure": [
        "I'm not sure.", "Don't know.", "Hard to say.", "I don't know enough about this to have a view.",
        "Unsure -", "I really can't tell.", "Not sure what to think about this one.",
    ],
}
CLOSERS: dict[str, list[str]] = {
    "support": [
        "So yes, I support this.", "That's why I agree.", "Good principle, keep it.",
        "Well done for including this.", "Overall I'm in favour.",
    ],
    "oppose": [
        "So I disagree with this principle.", "For these reasons I oppose it.", "Please rethink this.",
        "I can't agree with it as written.", "Overall I'm against it.",
    ],
    "neutral": ["So I'm somewhere in the middle.", "On balance I'm neutral.", "It could go either way."],
    "unsure": ["I'd need more information to decide.", "I honestly don't know.", "Hard to have a view yet."],
}
#: One-word / very short answers, by stance (``none``: no stance).
SHORT: dict[str, list[str]] = {
    "support": ["Agree.", "Yes", "Agreed", "Yes.", "Support", "Of course", "Yes!!"],
    "oppose": ["No", "Disagree.", "No.", "Nope", "Disagree"],
    "neutral": ["Neutral", "Either way", "Meh"],
    "unsure": ["Not sure", "Dunno", "?", "Unsure"],
    "none": ["N/A", "-", "Nothing to add", "No comment", "na", "See above"],
}
#: Nothing-else answers for the final question.
NOTHING_ELSE = ["No", "No.", "Nothing further.", "No thanks", "Nothing else.", "N/A", "That's all", "Nope"]

#: Asides for long, rambling answers.
ASIDES = [
    "Sorry, this is a bit of a ramble.", "I've thought about this a lot.", "To be honest,",
    "As I said earlier,", "Anyway,", "I'm not an expert but", "My nephew works in IT and he says the same.",
    "I've been following this issue for years.", "Just my two cents.", "Where was I?",
    "I know this is long but it matters.", "Let me explain.",
]
#: Theme-free filler sentences mixed into answers (noise vocabulary, no theme label).
FILLERS = [
    "This is a complex area.", "I've read the discussion document.", "Thanks for asking.",
    "Technology moves faster than the law.", "I'm writing as an ordinary citizen.", "We have to get this right.",
    "The internet has changed so much in the last twenty years.", "I hope this is useful.",
    "There is a lot in this document.", "It's a hard balance to strike.", "These things take time.",
    "Honestly I had to read it twice.", "I don't envy the people negotiating this.",
]
#: Framing for personal sentences (campaign additions, letters).
PERSONAL_FRAMES = [
    "As a parent, I'd add: {s}", "I work in IT. {s}", "Speaking as a small business owner: {s}",
    "I'm a journalist. {s}", "I'm a retired teacher and I want to add this. {s}", "One more thing. {s}",
    "I'm a student. {s}", "I work in cyber security. {s}", "As a grandmother: {s}", "Personally, {s}",
    "{s}", "{s}", "{s}", "{s}",
]

# --- te reo Māori --------------------------------------------------------------------------------
#: Answers wholly in te reo Māori: (text, themes, stance or None). English gloss in the comment.
TE_REO: list[tuple[str, list[str], str | None]] = [
    # I support this. Human rights and people's privacy must be protected.
    ("Kia ora. E tautoko ana ahau i tēnei kaupapa. Me tiaki ngā tika tangata me te noho matatapu o te tangata.",
     ["human_rights"], "support"),
    # Māori must take part in all the negotiations. Te Tiriti o Waitangi is the foundation.
    ("Me whai wāhi te iwi Māori ki ngā whiriwhiringa katoa. Ko Te Tiriti o Waitangi te tūāpapa.",
     ["te_tiriti", "multistakeholder"], "support"),
    # Māori data is a treasure. Māori authority over its data must be upheld.
    ("Ko ngā raraunga Māori he taonga. Me whakaū te mana motuhake o te Māori ki ōna raraunga.",
     ["te_tiriti"], None),
    # I don't agree. Too much power would be given to overseas police.
    ("Kāore au e whakaae. He nui rawa ngā mana ka hoatu ki ngā pirihimana o tāwāhi.",
     ["data_access"], "oppose"),
    # Aotearoa should help our Pacific relations strengthen their skills.
    ("Me āwhina a Aotearoa i ō tātou whanaunga o Te Moana-nui-a-Kiwa ki te whakapakari i ō rātou pūkenga.",
     ["pacific_capacity"], None),
    # I agree. All countries should work together to prevent online crime.
    ("E whakaae ana ahau. Me mahi tahi ngā whenua katoa ki te ārai i te hara ā-ipurangi.",
     ["cooperation"], "support"),
    # Be careful. Some governments could use this law to silence the people.
    ("Kia tūpato. Ka taea e ētahi kāwanatanga te whakamahi i tēnei ture hei whakangū i te iwi.",
     ["misuse_speech"], None),
    # The principles of Te Tiriti, self-determination and the guardianship of data must be considered.
    ("Nō reira, me whai whakaaro ki ngā mātāpono o Te Tiriti, ki te mana motuhake me te kaitiakitanga o ngā raraunga.",
     ["te_tiriti"], None),
    # I don't know. This topic is difficult for me.
    ("Kāore au i te mōhio. He uaua tēnei kaupapa ki ahau.", [], "unsure"),
    # Greetings. The convention's focus should be narrow, on computer crimes only.
    ("Tēnā koutou. Me whāiti te aronga o te kawenata ki ngā hara ā-rorohiko anake.", ["scope"], None),
    # I agree. Human rights are the most important thing. Thank you.
    ("E tino whakaae ana ahau. Ko ngā tika tangata te mea nui. Ngā mihi.", ["human_rights"], "support"),
]
#: Te reo phrases mixed into English answers: (prefix, suffix) pairs.
TE_REO_MIX: list[tuple[str, str]] = [
    ("Kia ora.", ""), ("Kia ora koutou,", "Ngā mihi."), ("", "Ngā mihi nui."), ("Tēnā koutou.", ""),
    ("", "Kia kaha."), ("", "This matters for our tamariki and mokopuna."), ("Kia ora,", "Mauri ora."),
    ("", "We are all kaitiaki of this."), ("", "Ka pai."),
]

# --- campaigns ------------------------------------------------------------------------------------
#: Campaign 1 (opposes an expansive convention): (sentence, themes). Themes: human_rights, misuse_speech, scope.
CAMPAIGN_1: list[tuple[str, str]] = [
    ("I am writing to urge New Zealand to stand firm for human rights in the negotiations on the proposed "
     "UN cybercrime convention.", "human_rights"),
    ("A cybercrime treaty must be narrowly focused on genuine cyber-dependent crimes, such as unauthorised "
     "access to computer systems, data interference and the spread of malware.", "scope"),
    ("It must not become a vehicle for criminalising online speech, protest, journalism or security "
     "research.", "misuse_speech"),
    ("Several of the governments backing this process have used vague 'cybercrime' and 'extremism' laws to "
     "silence critics and jail human rights defenders.", "misuse_speech"),
    ("Every offence in the treaty must be defined precisely, and content-related offences have no place in "
     "it.", "scope"),
    ("Any new investigative powers must be subject to prior judicial authorisation, strict necessity and "
     "proportionality tests, and meaningful independent oversight.", "human_rights"),
    ("Privacy and freedom of expression safeguards must be written into the text of the treaty itself, not "
     "left to each country to decide.", "human_rights"),
    ("New Zealand should refuse to support any provision that would let other states use the treaty to "
     "pursue people for their political views.", "misuse_speech"),
    ("If these protections cannot be secured, New Zealand should be prepared to walk away.", ""),
    ("Thank you for the opportunity to make a submission.", ""),
]
CAMPAIGN_1_THEMES = ["human_rights", "misuse_speech", "scope"]
#: Campaign 2 (supports a strong convention). Themes: cooperation, pacific_capacity.
CAMPAIGN_2: list[tuple[str, str]] = [
    ("I support New Zealand playing an active and constructive part in negotiating the UN cybercrime "
     "convention.", "cooperation"),
    ("Scams, ransomware and online child exploitation cross borders every day, and no country can tackle "
     "them alone.", "cooperation"),
    ("A global treaty would give our police faster help from overseas and close the gaps that criminals "
     "exploit.", "cooperation"),
    ("New Zealand should also make sure our Pacific neighbours get the training and resources they need to "
     "use it.", "pacific_capacity"),
    ("Please get this treaty done.", ""),
]
CAMPAIGN_2_THEMES = ["cooperation", "pacific_capacity"]
GREETINGS = [
    "Dear MFAT,", "Dear Sir or Madam,", "Kia ora,", "To whom it may concern,", "Dear Minister,",
    "Tēnā koe,", "Hello,", "Dear consultation team,", "", "", "",
]
SIGNOFFS = ["Regards,", "Kind regards,", "Yours sincerely,", "Ngā mihi,", "Thanks,", "Cheers,", "Yours faithfully,"]

# --- people and places -----------------------------------------------------------------------------
FIRST_NAMES = [
    "Aroha", "Mere", "Tama", "Wiremu", "Hemi", "Ngaio", "Rangi", "Moana", "Sione", "Losa", "Tavita", "Mele",
    "Sina", "Jane", "Sarah", "Emma", "Olivia", "Charlotte", "Ruby", "Grace", "James", "Oliver", "Jack",
    "William", "Liam", "Noah", "Thomas", "Daniel", "Priya", "Anjali", "Rahul", "Wei", "Mei", "Jun", "Min-jun",
    "Ji-woo", "Fatima", "Omar", "Sofia", "Lucas", "Chloe", "Hannah", "Michael", "David", "Peter", "Karen",
    "Susan", "Robyn", "Bruce", "Graham", "Tui", "Kiri", "Manaia", "Ana", "Ravi", "Deepak", "Mia", "Isla",
]
LAST_NAMES = [
    "Smith", "Williams", "Brown", "Wilson", "Taylor", "Jones", "Ngata", "Parata", "Tipene", "Walker",
    "Henare", "Te Whata", "Fa'asalele", "Tuilagi", "Fonoti", "Vaifale", "Patel", "Singh", "Sharma", "Chen",
    "Wang", "Li", "Zhang", "Kim", "Park", "Nguyen", "Anderson", "Thompson", "Martin", "Clarke", "Robinson",
    "Harris", "Campbell", "Stewart", "Murray", "Reid", "Young", "Hohaia", "Rāwiri", "Kereama", "Mahuika",
    "O'Connor", "MacDonald", "van der Berg", "de Vries", "Kaur", "Ali", "Hassan",
]
STREETS = [
    "Kōwhai Street", "Rimu Road", "Totara Avenue", "Queen Street", "Victoria Street", "Pōhutukawa Drive",
    "Kauri Crescent", "Manuka Place", "Cuba Street", "Ponsonby Road", "Riccarton Road", "George Street",
    "Harbour View Terrace", "Matai Street", "Karaka Lane",
]
SUBURBS = [
    ("Mount Eden", "Auckland", "1024"), ("Ponsonby", "Auckland", "1011"), ("Ōtara", "Auckland", "2023"),
    ("Te Aro", "Wellington", "6011"), ("Newtown", "Wellington", "6021"), ("Karori", "Wellington", "6012"),
    ("Riccarton", "Christchurch", "8011"), ("Addington", "Christchurch", "8024"), ("Hillcrest", "Hamilton", "3216"),
    ("Roslyn", "Dunedin", "9010"), ("Tāmaki", "Auckland", "1072"), ("Porirua East", "Porirua", "5024"),
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "example.co.nz"]
SECTORS = [
    "Business / industry", "Technology", "Civil society / NGO", "Academic / research", "Legal",
    "Iwi / Māori organisation", "Pacific organisation", "Government / public sector", "Other",
]
ORG_PREFIX = [
    "Aotearoa", "Kiwi", "NZ", "Pacific", "Southern", "Te Waipounamu", "Wellington", "Auckland", "Digital",
    "Ōtautahi", "Tāmaki", "Open", "Secure",
]
ORG_CORE = [
    "Digital Rights", "Cyber Security", "Internet Users", "Payments", "Tech", "Privacy", "Legal Aid",
    "Civil Liberties", "Software", "Data", "Online Safety", "Telecommunications", "Journalists",
    "Open Source", "Library", "Human Rights",
]
ORG_SUFFIX = [
    "Trust", "Society", "Association", "Network", "Collective", "Ltd", "Forum", "Council", "Institute",
    "Group", "Alliance", "Foundation",
]
